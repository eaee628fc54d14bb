(ns evloop.chicken
  "The Chicken Scheme epoll echo server, translated literally onto evloop's
  loop: a listener fd and client fds, a read table and a write table keyed
  by fd, and one callback per turn that receives the list of (fd . events)
  pairs. A readable listener accepts; a readable client is read, its
  complete lines go to its output buffer and its interest flips to write; a
  writable client is written to and flips back to read.

  Unlike the original it calls back only when there are events, and the
  loop drops pairs of fds closed earlier in the same turn. For real servers
  use evloop.core/start-server; this is the seed, working."
  (:require [evloop.core :as ev])
  (:import (evloop EventLoop)
           (evloop.sys Native SockAddr Sockets)
           (java.net InetSocketAddress)
           (java.nio ByteBuffer)))

(set! *warn-on-reflection* true)

(defn- split-complete-lines
  "Appends `chunk` to `pending` and returns [complete-lines rest]: bytes up to
  and including the last newline, and what follows it."
  [^bytes pending ^bytes chunk]
  (let [all (byte-array (concat pending chunk))
        cut (inc (loop [i (dec (alength all))]
                   (cond (neg? i) -1
                         (= 10 (aget all i)) i
                         :else (recur (dec i)))))]
    [(java.util.Arrays/copyOfRange all 0 (int cut)) (java.util.Arrays/copyOfRange all (int cut) (alength all))]))

(defn start
  "Runs the echo server on `port` (0: any) on its own loop thread; returns
  `{:loop event-loop :port bound-port :listener fd}`. Stop it with `stop`."
  [port]
  (let [nat (Native/get)
        lfd (.listen (Sockets/get) (InetSocketAddress. "127.0.0.1" (int port)) 1024 false)
        evl (ev/open-loop)
        fd-read-table (atom {})   ; fd -> bytes read but not yet a whole line
        fd-write-table (atom {})  ; fd -> bytes waiting to be written
        buf (Native/allocate 65536)
        peer (SockAddr.)
        close-client (fn [fd]
                       (ev/remove! evl fd)
                       (.closeQuietly nat (int fd))
                       (swap! fd-read-table dissoc fd)
                       (swap! fd-write-table dissoc fd))
        handle-read (fn [fd]
                      (.clear buf)
                      (let [n (.read nat (int fd) buf)]
                        (cond
                          (= n Native/WOULD_BLOCK) nil
                          (zero? n) (close-client fd)
                          :else
                          (let [chunk (byte-array n)
                                _ (.get (.flip buf) chunk)
                                [lines rest] (split-complete-lines (@fd-read-table fd) chunk)]
                            (swap! fd-read-table assoc fd rest)
                            (when (pos? (alength ^bytes lines))
                              (swap! fd-write-table assoc fd lines)
                              ;; After a read the socket is ready for writing to.
                              (ev/on-readable evl fd nil)
                              (ev/on-writable evl fd (fn [_ _])))))))
        handle-write (fn [fd]
                       (let [^bytes out (@fd-write-table fd)
                             b (doto (Native/allocate (alength out)) (.put out) (.flip))
                             n (.send nat (int fd) b)]
                         (if (or (= n Native/WOULD_BLOCK) (< n (alength out)))
                           (swap! fd-write-table assoc fd
                                  (java.util.Arrays/copyOfRange out (max 0 n) (alength out)))
                           ;; After a write the socket is ready for reading from.
                           (do (swap! fd-write-table dissoc fd)
                               (ev/on-writable evl fd nil)
                               (ev/on-readable evl fd (fn [_ _]))))))
        fd-event-list-handler
        (fn [pairs]
          (doseq [[fd events] pairs]
            (try
              (cond
                (= fd lfd) (loop []
                             (let [cfd (.accept (Sockets/get) lfd peer)]
                               (when-not (= cfd Native/WOULD_BLOCK)
                                 (swap! fd-read-table assoc cfd (byte-array 0))
                                 (ev/on-readable evl cfd (fn [_ _]))
                                 (recur))))
                (not (contains? @fd-read-table fd)) nil
                (:out events) (handle-write fd)
                (some events [:in :hup :err :rdhup]) (handle-read fd))
              (catch Exception _ (close-client fd)))))]
    (ev/on-readable evl lfd (fn [_ _]))
    (ev/on-turn! evl fd-event-list-handler)
    (ev/start-loop! evl)
    {:loop evl :listener lfd :port (.getPort (.localAddress (Sockets/get) lfd))
     :clients (fn [] (keys @fd-read-table))}))

(defn stop
  "Stops the loop and closes the listener and every client."
  [{evl :loop listener :listener clients :clients}]
  (ev/stop! evl)
  (doseq [fd (cons listener (clients))]
    (ev/remove! evl fd)
    (.closeQuietly (Native/get) (int fd)))
  (ev/close! evl))
