(ns evloop.impl.handler
  "How evloop.core's servers call Clojure code: the Java TcpHandler that
  looks the Clojure handler up on every event, decodes lines, and sends back
  what a line handler returns. An implementation detail of start-server."
  (:require [evloop.impl.enums :as enums])
  (:import (evloop.tcp Connection TcpHandler)
           (java.nio ByteBuffer)
           (java.nio.charset Charset)))

(set! *warn-on-reflection* true)

(defn- reply!
  "Sends what a line handler returned, when it is something to send. The very
  string the handler was given goes back as the frame's original bytes: no
  re-encoding, no copy, and byte-exact even where the line was not UTF-8."
  [^Connection conn x line ^ByteBuffer frame ^Charset cs]
  (cond (identical? x line) (.send conn frame)
        (string? x) (.send conn (.getBytes ^String x cs))
        (bytes? x) (.send conn ^bytes x)
        (instance? ByteBuffer x) (.send conn ^ByteBuffer x)
        :else nil))

(defn- string-decoder
  "Decodes frames to strings through one scratch array, grown as needed: the
  handler runs on the loop thread only, so one array serves every line."
  [^Charset cs]
  (let [scratch (volatile! (byte-array 4096))]
    (fn [^ByteBuffer b]
      (let [n (.remaining b)
            ^bytes a (if (<= n (alength ^bytes @scratch))
                       @scratch
                       (vreset! scratch (byte-array (max n (* 2 (alength ^bytes @scratch))))))]
        (.get b (.position b) a 0 n)
        (String. a 0 n cs)))))

(defn tcp-handler
  "The Java handler: looks the Clojure handler up in `handler-ref` on every
  event, so a swap or a redefined var applies to open connections at once."
  ^TcpHandler [handler-ref fmt ^Charset cs]
  (let [decode (case fmt
                 :string (string-decoder cs)
                 :bytes (fn [^ByteBuffer b]
                          (let [a (byte-array (.remaining b))]
                            (.get b (.position b) a 0 (alength a))
                            a))
                 :buffer identity)]
    (reify TcpHandler
      (onConnect [_ conn]
        (.attach conn {:charset cs})
        (when-let [f (:on-connect @handler-ref)] (f conn)))
      (onMessage [_ conn frame]
        (when-let [f (:on-line @handler-ref)]
          (let [line (decode frame)]
            (when-let [record (:record @handler-ref)] (record conn line))
            (reply! conn (f conn line) line frame cs))))
      (onDisconnect [_ conn cause]
        (when-let [f (:on-close @handler-ref)] (f conn (enums/->keyword cause))))
      (onWritabilityChanged [_ conn writable]
        (when-let [f (:on-writable @handler-ref)] (f conn writable))))))

