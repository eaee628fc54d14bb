(ns evloop.impl.client
  "connect!'s machinery: its checks, the handler of its connection (which
  runs the callbacks with the caller's bindings), a one-shot TcpClient (on the
  caller's loop, or on a loop of its own) that closes with its connection,
  and failures turned into ex-info. An implementation detail of evloop.core."
  (:require [evloop.impl.errors :refer [native-ex-info with-option-errors]]
            [evloop.impl.handler :as handler]
            [evloop.impl.options :as options])
  (:import (evloop EventLoop)
           (evloop.sys NativeException)
           (evloop.tcp ClientConfig TcpClient TcpHandler)
           (java.net UnknownHostException)
           (java.nio.charset Charset)
           (java.util.concurrent ExecutionException TimeUnit TimeoutException)))

(set! *warn-on-reflection* true)

(defn- failure [e opts]
  (let [^Throwable c (if (instance? ExecutionException e) (.getCause ^ExecutionException e) e)
        target (select-keys opts [:host :port :path])]
    (cond
      (instance? NativeException c) (native-ex-info c target)
      (instance? UnknownHostException c)
      (ex-info (.getMessage c) (assoc target :key (if (re-find #"local address" (str (.getMessage c))) :local-host :host)) c)
      (instance? InterruptedException c)
      (ex-info (str "connect! was interrupted while connecting; the attempt was abandoned") target c)
      (instance? TimeoutException c)
      (ex-info (str "connect! did not connect within " (+ (:connect-timeout-ms opts 10000) 5000) " ms") target c)
      :else (ex-info (str "connect! failed: " (.getMessage c)) target c))))

(defn- open
  "Connects as `cfg` says with handler `h`, on `loop` or (nil) a loop of its
  own; returns the connection or throws an ex-info.
  It waits until connected, so it refuses to run on a loop thread (the loop
  it waits for could be the one it blocks) or on a loop nobody runs."
  [^EventLoop loop ^ClientConfig cfg ^TcpHandler h opts]
  (when (EventLoop/current)
    (throw (ex-info (str "connect! waits until connected, so it cannot run on a loop thread (this is "
                         (.getName (Thread/currentThread)) "): call it from another thread, or use "
                         "evloop.tcp.TcpClient, whose connect() returns a future")
                    {:key :loop})))
  (when (and loop (not (.isRunning loop)))
    (throw (ex-info "connect!: :loop must be running (evloop.core/start-loop!) to connect on it" {:key :loop :value loop})))
  ;; Either way a client of the connection's own, closed when the connection ends.
  (let [f (if loop (TcpClient/connect loop cfg h) (TcpClient/connectOnce cfg h))]
    (try
      (.get ^java.util.concurrent.Future f (+ (:connect-timeout-ms opts 10000) 5000) TimeUnit/MILLISECONDS)
      (catch Exception e
        ;; Any way of giving up, an interrupt too, aborts the attempt (the future's
        ;; cancel releases its socket and timer on the loop).
        (.cancel ^java.util.concurrent.Future f false)
        (when (instance? InterruptedException e)
          ;; get cleared the thread's interrupt status when it threw: set it again, so
          ;; whoever interrupted this thread still sees it past the ex-info.
          (.interrupt (Thread/currentThread)))
        (throw (failure e opts))))))

(defn- connection-handler
  "A TcpHandler as is; any other handler behind a Clojure bridge of its own,
  whose callbacks run with `bindings`."
  ^TcpHandler [h fmt charset bindings]
  (if (instance? TcpHandler h)
    h
    (handler/tcp-handler (atom {:handler h}) fmt (Charset/forName charset) bindings)))

(defn connect
  "connect!: checks `opts` and `handler`, connects and returns the connection.
  Its callbacks run with the calling thread's bindings."
  [opts handler]
  (options/check-client opts)
  (handler/check "connect!" handler)
  (let [{:keys [loop format charset] :or {format :string charset "UTF-8"}} opts
        h (connection-handler handler format charset (get-thread-bindings))]
    (open loop (with-option-errors "connect!" (options/client-config opts)) h opts)))
