(ns evloop.test-util
  "Socket helpers shared by the clojure.test namespaces: blocking loopback
  clients with a read deadline, so no test can hang."
  (:import (java.io BufferedReader InputStreamReader)
           (java.net InetSocketAddress Socket)))

(defn connect
  "A client socket connected to 127.0.0.1:`port`, reads timing out after 10 s."
  ^Socket [port]
  (doto (Socket.)
    (.connect (InetSocketAddress. "127.0.0.1" (int port)) 5000)
    (.setSoTimeout 10000)))

(defn reader
  "A UTF-8 line reader over the socket's input."
  ^BufferedReader [^Socket s]
  (BufferedReader. (InputStreamReader. (.getInputStream s) "UTF-8")))

(defn send-line
  "Writes `line` and a newline."
  [^Socket s line]
  (doto (.getOutputStream s) (.write (.getBytes (str line "\n") "UTF-8")) (.flush)))

(defn wait-until
  "Polls `(pred)` until it is truthy or `ms` pass; returns its last value.
  Waits on a condition with a deadline, never for a fixed time."
  [pred ms]
  (let [deadline (+ (System/nanoTime) (* ms 1000000))]
    (loop []
      (or (pred)
          (when (< (System/nanoTime) deadline)
            (java.util.concurrent.locks.LockSupport/parkNanos 1000000)
            (recur))))))
