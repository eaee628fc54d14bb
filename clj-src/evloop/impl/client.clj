(ns evloop.impl.client
  "connect!'s machinery: a TcpClient per call, on the caller's loop or on a
  loop of its own that goes with the connection, and failures turned into
  ex-info. An implementation detail of evloop.core."
  (:import (evloop EventLoop)
           (evloop.sys NativeException)
           (evloop.tcp ClientConfig TcpClient TcpHandler)
           (java.net UnknownHostException)
           (java.util.concurrent ExecutionException TimeUnit)))

(set! *warn-on-reflection* true)

(defn- closing-with-connection
  "`h`, with the client closed (and its own loop with it) when the connection ends."
  ^TcpHandler [^TcpHandler h client-box]
  (reify TcpHandler
    (onConnect [_ c] (.onConnect h c))
    (onMessage [_ c f] (.onMessage h c f))
    (onWritabilityChanged [_ c w] (.onWritabilityChanged h c w))
    (onTimeout [_ c w] (.onTimeout h c w))
    (onProtocolError [_ c e] (.onProtocolError h c e))
    (onPeerClosed [_ c] (.onPeerClosed h c))
    (onDisconnect [_ c cause]
      (try (.onDisconnect h c cause)
           (finally (.close ^TcpClient @client-box))))))

(defn- failure [e opts native-ex-info]
  (let [^Throwable c (if (instance? ExecutionException e) (.getCause ^ExecutionException e) e)
        target (select-keys opts [:host :port :path])]
    (cond
      (instance? NativeException c) (native-ex-info c target)
      (instance? UnknownHostException c) (ex-info (.getMessage c) (assoc target :key :host) c)
      :else (ex-info (str "connect! failed: " (.getMessage c)) target c))))

(defn connect
  "Connects as `cfg` says with handler `h`, on `loop` or (nil) a loop of its
  own; returns the connection or throws an ex-info made by `native-ex-info`."
  [^EventLoop loop ^ClientConfig cfg ^TcpHandler h opts native-ex-info]
  (let [client-box (promise)
        client (if loop
                 (TcpClient/create loop cfg h)
                 (TcpClient/create cfg (closing-with-connection h client-box)))]
    (deliver client-box client)
    (try
      (.get (.connect ^TcpClient client) (+ (:connect-timeout-ms opts 10000) 5000) TimeUnit/MILLISECONDS)
      (catch Exception e
        (when-not loop (.close ^TcpClient client))
        (throw (failure e opts native-ex-info))))))
