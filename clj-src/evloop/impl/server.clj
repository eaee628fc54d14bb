(ns evloop.impl.server
  "A server as a value: what evloop.core/start-server returns, a `Server`
  record of the Java TcpServer, the handler atom its Clojure bridge reads on
  every event, and what it was started with. Here are how a server is
  recognised (by its keys), how it prints, and its life: started, stopped,
  given another handler, and read as data. An implementation detail of
  evloop.core."
  (:require [evloop.impl.data :as data]
            [evloop.impl.enums :as enums]
            [evloop.impl.errors :refer [with-native-errors with-option-errors]]
            [evloop.impl.handler :as handler]
            [evloop.impl.options :as options])
  (:import (evloop EventLoop)
           (evloop.tcp Connection TcpHandler TcpServer)
           (java.io Closeable Writer)
           (java.nio.charset Charset StandardCharsets)
           (java.time Duration)
           (java.util.concurrent CompletableFuture)
           (java.util.function Function)))

(set! *warn-on-reflection* true)

(defrecord Server [^TcpServer tcp handler-ref ^TcpHandler bridge frame-log host port path charset]
  Closeable
  (close [_] (.close tcp)))

(defn- server?
  "True for what start-server returned. Checked by its keys, not `(instance?
  Server s)`: reloading this namespace (as `(require 'evloop.core
  :reload-all)` does) defines a new Server class, and the server the REPL
  holds, made before, must still be one."
  [s]
  (and (map? s) (instance? TcpServer (:tcp s)) (instance? clojure.lang.IAtom (:handler-ref s))))

(defn check
  "Returns `s`; throws, naming fn `f`, unless it is what start-server returned."
  [f s]
  (when-not (server? s)
    (throw (ex-info (str f ": expects a server, as start-server returns it, got " (pr-str s))
                    {:key :server :value s})))
  s)

(defn tcp
  "The TcpServer of `s`, checked as `check` checks it."
  ^TcpServer [f s]
  (:tcp (check f s)))

(defmethod print-method Server [^Server s ^Writer w]
  (let [^TcpServer tcp (:tcp s)]
    (.write w (str "#<evloop server " (data/address (.address tcp)) ", "
                   (.toLowerCase (str (.status tcp))) ", "
                   (.active (.stats tcp)) " connections>"))))

(defn start
  "start-server: checks `handler` and `opts`, starts the TcpServer, returns
  the Server."
  [handler opts]
  (options/check-server opts)
  (handler/check "start-server" handler)
  (let [{:keys [host port path loop format charset] :or {host "127.0.0.1" port 6666 format :string charset "UTF-8"}} opts
        java? (instance? TcpHandler handler)
        handler-ref (atom {:handler (when-not java? handler)})
        ;; The Clojure bridge exists even for a Java handler, so swap-handler! can go back to Clojure.
        bridge (handler/tcp-handler handler-ref format (Charset/forName charset) nil)
        cfg (options/server-config opts)
        tcp (with-option-errors "start-server"
              (with-native-errors (if path {:key :path :path path} {:key :port :host host :port port})
                (let [^TcpHandler h (if java? handler bridge)]
                  (if loop
                    (TcpServer/start ^EventLoop loop cfg h)
                    (TcpServer/start cfg h)))))]
    (->Server tcp handler-ref bridge (atom []) (when-not path host) (when-not path (.port ^TcpServer tcp)) path
              (Charset/forName charset))))

(defn stop
  "stop-server: closes the server, giving its connections `:timeout` ms (or
  its :close-timeout-ms); returns a future of :stopped."
  [server {:keys [timeout] :as opts}]
  (let [tcp (tcp "stop-server" server)]
    (options/check-map "stop-server" {:timeout (options/int-option 0 Integer/MAX_VALUE)} opts)
    (let [^CompletableFuture f (if timeout (.closeAsync tcp (Duration/ofMillis timeout)) (.closeAsync tcp))]
      (.thenApply f (reify Function (apply [_ _] :stopped))))))

(defn status
  "The TcpServer's status as a keyword."
  [^TcpServer tcp]
  (enums/->keyword (.status tcp)))

(defn connections
  "The TcpServer's open connections as data, asked of each loop thread."
  [^TcpServer tcp]
  (mapv data/connection (.connections tcp)))

(defn- attach-charset!
  "Gives every open connection of `tcp` that has no :charset in its attachment
  `cs`, as the bridge's onConnect would have."
  [^TcpServer tcp ^Charset cs]
  (doseq [^Connection c (.openConnections tcp)
          :let [a (.attachment c)]]
    (cond (nil? a) (.attach c {:charset cs})
          (and (map? a) (not (:charset a))) (.attach c (assoc a :charset cs)))))

(defn swap-handler!
  "swap-handler!: a Java handler goes to the TcpServer as is; any other goes
  in the handler atom, behind the bridge."
  [server handler]
  (let [tcp (tcp "swap-handler!" server)]
    (handler/check "swap-handler!" handler)
    (if (instance? TcpHandler handler)
      (.setHandler tcp ^TcpHandler handler)
      (let [^TcpHandler bridge (:bridge server)
            from-java? (not (identical? bridge (.handler tcp)))]
        (swap! (:handler-ref server) assoc :handler handler)
        (.setHandler tcp bridge)
        ;; The bridge gives each connection it opens its charset (send! reads it
        ;; there); those a Java handler opened have none: give it to them now.
        (when from-java?
          (attach-charset! tcp (or (:charset server) StandardCharsets/UTF_8))))))
  server)

(defn info
  "server-info: the server as data, each of its loops asked once (a stuck
  one costs one wait, not three) with `opts`' :timeout-ms."
  [server opts]
  (let [tcp (tcp "server-info" server)]
    (options/check-map "server-info" options/info-options opts)
    (let [infos (mapv #(data/loop-info % (:timeout-ms opts 5000)) (.loops tcp))
          responding? (not-any? #(false? (:responding? %)) infos)]
      {:host (:host server) :port (:port server) :path (:path server)
       :address (data/address (.address tcp))
       :status (status tcp)
       :responding? responding?
       :stats (data/server-stats (.stats tcp))
       :connections (when responding? (connections tcp))
       :loop (first infos)
       :loops (mapv (fn [info load] (assoc info :connections load)) infos (.loads tcp))})))
