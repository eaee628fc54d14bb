(ns evloop.impl.async
  "evloop.async's TcpHandler: per connection it opens the `Channels`
  (evloop.impl.channels) and hands them their events as steps on the
  connection's loop thread. The loop's come through the TcpHandler: frames
  (decoded here), the peer's EOF, writability, the end. core.async's come
  through callbacks made once per connection: the loop's one put! to `in`
  completing (`PutDone`), its one take! from `out` bringing a value
  (`Taken`), and the application closing `in`, which `in`'s buffer
  (`InBuffer`) sees. An implementation detail of evloop.async."
  (:require [clojure.core.async :as a]
            [clojure.core.async.impl.protocols :as async-protocols]
            [evloop.impl.channels :refer [on-loop]]
            [evloop.impl.enums :as enums]
            [evloop.impl.handler :as handler])
  (:import (evloop EventLoop)
           (evloop.impl.channels Channels IChannels)
           (evloop.tcp Connection TcpHandler)
           (java.nio ByteBuffer)
           (java.nio.charset Charset)
           (java.util ArrayDeque)))

(set! *warn-on-reflection* true)

;; ---- frames in ----------------------------------------------------------------------

(defn decoder
  "Frame -> value for `in`. A frame is a view of the loop's read buffer, valid
  only during onMessage: every format copies it (:buffer into a heap
  ByteBuffer of its own)."
  [fmt ^Charset cs]
  (case fmt
    :buffer (fn [^ByteBuffer b]
              (let [a (byte-array (.remaining b))]
                (.get b (.position b) a 0 (alength a))
                (ByteBuffer/wrap a)))
    (handler/decoder fmt cs)))

;; ---- the loop's callbacks on `in` and `out`, one of each per connection

(def ^:private on-caller
  "The metadata that has core.async run a callback on the thread that
  completes its operation (see evloop.impl.channels/Channels)."
  {:on-caller? true})

(deftype Taken [^EventLoop lp owner]
  ;; `out`'s take! callback: hands the value to the loop (Channels in `owner`,
  ;; a volatile). Made once per connection, with its handler, as the loop has
  ;; at most one take! on `out` waiting.
  clojure.lang.IMeta
  (meta [_] on-caller)
  clojure.lang.IFn
  (invoke [_ v] (let [^IChannels st @owner] (on-loop lp #(.taken st v)))))

(deftype PutDone [^EventLoop lp owner]
  ;; `in`'s put! callback, and the step it queues on the loop: once per
  ;; connection, as the loop has at most one put! to `in` waiting.
  clojure.lang.IMeta
  (meta [_] on-caller)
  clojure.lang.IFn
  (invoke [this _] (on-loop lp this))
  (run [_] (let [^IChannels st @owner] (.putDone st))))

;; ---- `in`'s buffer: tells the loop when the application closes `in`

(deftype InBuffer [^ArrayDeque buf ^long n owner]
  ;; A fixed buffer, as core.async's own, and close-buf! tells the Channels in
  ;; `owner` (a volatile) that `in` was closed. core.async calls it under the
  ;; channel's lock, from whichever thread closed `in`.
  async-protocols/Buffer
  (full? [_] (>= (.size buf) n))
  (remove! [_] (.removeLast buf))
  (add!* [this v] (.addFirst buf v) this)
  (close-buf! [_] (when-let [^IChannels st @owner] (.inClosing st)))
  clojure.lang.Counted
  (count [_] (.size buf)))

;; ---- the handler ---------------------------------------------------------------------

(defn channels-of
  "The Channels of `conn`, or nil for a connection without channels."
  ^Channels [^Connection conn]
  (let [a (.attachment conn)]
    (when (map? a) (:channels a))))

(defn- open-channels
  "Makes `conn`'s channels and attaches them (with the charset evloop.core/send!
  reads); the caller starts them."
  ^Channels [^Connection conn ^Charset cs decode {:keys [in-buffer out-buffer]}]
  (let [lp (.loop conn)
        owner (volatile! nil)
        in-buf (InBuffer. (ArrayDeque.) in-buffer owner)
        out-buf (a/buffer out-buffer)
        take-cb (Taken. lp owner)
        put-cb (PutDone. lp owner)
        st (Channels. conn lp cs decode
                      (a/chan in-buf) in-buf in-buffer (a/chan out-buf) out-buf out-buffer
                      (a/promise-chan) (ArrayDeque.)
                      take-cb (a/fn-handler take-cb) put-cb (a/fn-handler put-cb)
                      false false false false false false false false false)]
    (vreset! owner st)
    (.attach conn {:charset cs :channels st})
    st))

(defn tcp-handler
  "The TcpHandler over `f`, `(f conn in out)` called once per connection, with
  checked options `opts` (evloop.async/handler's)."
  ^TcpHandler [f {:keys [format charset blocking] :as opts}]
  (let [cs (Charset/forName ^String charset)
        decode (decoder format cs)
        ;; The connection keeps this handler until it ends, whatever handler its
        ;; server gets meanwhile (swap-handler!): only this one feeds and ends its
        ;; channels, so onDisconnect has to come here.
        open! (fn [h ^Connection conn]
                (.keepHandler conn h)
                (let [st (open-channels conn cs decode opts)]
                  (.start st f (boolean blocking))
                  st))]
    (reify TcpHandler
      (onConnect [this conn]
        (open! this conn))
      (onMessage [this conn frame]
        ;; A connection accepted under another handler (swap-handler!) gets its
        ;; channels at its first frame under this one.
        (let [^Channels st (or (channels-of conn) (open! this conn))]
          (.frame st ((.-decode st) frame))))
      (onPeerClosed [_ conn]
        (if-let [st (channels-of conn)]
          (do (.peerClosed st) true)
          false))
      (onWritabilityChanged [_ conn writable]
        ;; Pumped as a task: this is called from inside the connection's flush.
        (when-let [st (channels-of conn)]
          (when writable
            (.execute (.loop conn) st))))
      (onDisconnect [_ conn cause]
        (when-let [st (channels-of conn)]
          (.ended st (enums/->keyword cause)))))))
