(ns evloop.impl.channels
  "One connection's channels for evloop.async: `Channels`, the loop's ends of
  its `in` and `out`. Its steps move frames from the socket into `in`, pausing
  reading while `in` is full, and values from `out` to the socket, in batches,
  while the connection is writable; and they end both channels with the
  connection. Its events come from evloop.impl.async. An implementation
  detail of evloop.async.

  One rule keeps it simple: a connection's channel state changes in steps of
  its Channels, on its loop thread (but for late callbacks while the loop
  closes: see `on-loop`), each holding the Channels' lock. The loop never
  blocks on a channel: it uses `offer!`/`poll!`, and `put!`/`take!` with
  callbacks. core.async runs those callbacks on its own threads, and all they
  do is hand the next step back to the loop (`on-loop`). So every pause,
  resume and close is decided from the state as it is then, and a late
  callback cannot undo a newer decision."
  (:require [clojure.core.async :as a]
            [clojure.core.async.impl.protocols :as async-protocols])
  (:import (evloop EventLoop)
           (evloop.tcp Connection)
           (java.nio ByteBuffer)
           (java.nio.charset Charset)
           (java.util ArrayDeque)
           (java.util.concurrent ForkJoinPool RejectedExecutionException)
           (java.util.function Supplier)))

(set! *warn-on-reflection* true)

(defn on-loop
  "Runs `(f)` on `loop`'s thread, as a task. A loop refuses other threads'
  tasks from the moment it starts closing, not only once it has closed: its
  thread may still be running the tasks it had accepted and closing its
  connections (`ended`). A refused `f` runs on a pool thread instead, so that
  a consumer still gets the frames and the close of `in` it is owed. Not on
  this thread: core.async calls some callbacks holding a channel's lock (a
  take!'s when the channel closes), and `f` takes the Channels' lock, which
  the loop thread may hold while it waits for that channel's. Since `f` may
  run beside the loop thread, every step of Channels holds its lock
  (contended only then)."
  [^EventLoop loop f]
  (try (.execute loop ^Runnable f)
       (catch RejectedExecutionException _
         (.execute (ForkJoinPool/commonPool) ^Runnable f))))

;; ---- values out, and channels without blocking -----------------------------------

(defn- ->buffer
  "A value taken from `out` as bytes to send; anything but a string, bytes or a
  ByteBuffer is sent as its `str` (evloop.core/send! refuses them). Returns what
  that threw instead, if it threw: `str` realizes a lazy seq (for its hash),
  and calls the value's toString, both the application's code."
  [x ^Charset cs]
  (try
    (cond (string? x) (ByteBuffer/wrap (.getBytes ^String x cs))
          (bytes? x) (ByteBuffer/wrap ^bytes x)
          (instance? ByteBuffer x) (.duplicate ^ByteBuffer x)
          :else (ByteBuffer/wrap (.getBytes (str x) cs)))
    (catch Throwable t t)))

(def ^:private batch-bytes
  "What the loop gathers from `out` into one send: a go block that put 16
  replies costs one write, not 16, and the bytes past the high watermark that
  one batch can add stay this small."
  (* 64 1024))

(def ^:private nonblocking
  "The handler of offer!/poll!, which make one per call: these make none. It
  is stateless (commit gives a no-op, never called for an operation that
  cannot complete at once), so every connection shares it."
  (a/fn-handler (fn [_]) false))

(defn- offer-now!
  "`a/offer!` without its handler per call: once per frame."
  [port v]
  (when-let [ret (async-protocols/put! port v nonblocking)] @ret))

(defn- poll-now!
  "`a/poll!` without its handler per call: once per value sent."
  [port]
  (when-let [ret (async-protocols/take! port nonblocking)] @ret))

(def ^:private ^:const pump-values
  "Values one pump task takes from `out` at most; then it queues itself behind
  the loop's other work, so a busy `out` cannot hold the loop (its other
  connections, timers and tasks). The reactor reads at most a few rounds per
  event for the same reason."
  1024)

(def ^:private ^:const pump-bytes
  "Bytes one pump task sends at most, as `pump-values`: four batches."
  (* 4 64 1024))

(def ^:private yielding
  "What the pump loop goes on with once a task has done its share, in place of
  the next value from `out`."
  (Object.))

(defn- next-value
  "The next value for the pump loop: what `out` holds now, or `yielding` once
  this task took `n` values or gathered `sent` bytes."
  [out ^long n ^long sent]
  (if (or (>= n pump-values) (>= sent pump-bytes))
    yielding
    (poll-now! out)))

(def ^:private ^ThreadLocal scratch
  "One gathering buffer per loop thread (batches are built on it only)."
  (ThreadLocal/withInitial (reify Supplier (get [_] (ByteBuffer/allocate batch-bytes)))))

;; The loop's `send` returns false once the connection is closing: nothing more
;; will be sent, and `out` has to say so to its producers (pump).
(defn- send-batch!
  "Sends what `acc` gathered, if anything, and empties it; false if the
  connection refused it (closing)."
  [^Connection conn ^ByteBuffer acc]
  (if (pos? (.position acc))
    (do (.flip acc)
        (let [sent (.send conn acc)]    ; copies: the scratch buffer is free again
          (.clear acc)
          sent))
    true))

(defn- drain!
  "Takes whatever `ch` holds now, pending puts included (they outlive
  close!), and drops it: producers parked on a closed channel are released."
  [ch]
  (loop [] (when (some? (poll-now! ch)) (recur))))

;; ---- one connection ------------------------------------------------------------------

;; The steps take the Channels' lock; holdBack, closeIn and endOut are parts of
;; steps, called with it held. inClosing takes no lock (see InBuffer's close-buf!,
;; in evloop.impl.async), and info reads without it.
(definterface IChannels
  (^void start [f blocking])
  (^void frame [v])
  (^void holdBack [])
  (^void putLater [v])
  (^void putDone [])
  (^void inClosing [])
  (^void inClosed [])
  (^void closeIn [])
  (^void peerClosed [])
  (^void pump [first])
  (^void taken [v])
  (^void endOut [])
  (^void failOut [t])
  (^void ended [cause])
  (info []))

(deftype Channels [^Connection conn ^EventLoop lp ^Charset cs decode
                   in in-buf ^long in-size out out-buf ^long out-size closed ^ArrayDeque overflow
                   take-cb take-handler put-cb put-handler   ; the callbacks and their handlers
                   ;; Changed under this object's lock, on the loop thread but for late
                   ;; callbacks while the loop closes (on-loop); volatile so that `info`
                   ;; reads them from a REPL without the lock.
                   ^:volatile-mutable put-pending   ; our one put! to `in` waits for room
                   ^:volatile-mutable paused        ; we paused reading for `in`
                   ^:volatile-mutable in-ending     ; no more frames: close `in` once overflow is in
                   ^:volatile-mutable in-closed     ; we closed `in` (or are closing it)
                   ^:volatile-mutable taking        ; our one take! from `out` waits for a value
                   ^:volatile-mutable yielded       ; pump queued itself (pump-values)
                   ^:volatile-mutable out-done      ; `out` was closed and is drained
                   ^:volatile-mutable watched       ; the handler returned a channel (or `out`): it ends `out`
                   ^:volatile-mutable ended]        ; the connection is gone
  IChannels
  ;; Our put! and take! are a/put!'s and a/take!'s with on-caller? true, over
  ;; callbacks and handlers made once (evloop.impl.async's Taken and PutDone),
  ;; not per call. Besides running the callback here when the channel is ready
  ;; at once, core.async then runs it on the thread that completes the
  ;; operation later - the go block taking from `in` or putting to `out` -
  ;; instead of dispatching it as a task of its own. All the callback does is queue work on the loop, so that
  ;; is cheap, and it saves a pool hand-off per batch.
  ;;
  ;; Lock order: this object, then a channel's own lock (offer!, poll!, close!).
  ;; What core.async calls under a channel's lock (a callback, close-buf!) only
  ;; hands a step to on-loop, which never runs it on the calling thread, so no
  ;; thread takes them the other way.
  (start [this f blocking]
    ;; `f` runs without the lock: it is the application's code.
    (let [result (if blocking
                   ;; Ends the connection as a throw on the loop would (HANDLER_ERROR),
                   ;; before the channel completes and closes `out`.
                   (a/io-thread
                    (try (f conn in out)
                         (catch Throwable t
                           (.fail conn "channel handler" t)
                           nil)))
                   (f conn in out))
          ;; A channel says when the answer is complete; `out` itself (what
          ;; (a/pipe from out) returns) says the application closes `out`. Either
          ;; way EOF leaves `out` open. Neither `in` nor `out` is taken from:
          ;; that would steal their values.
          watch? (and (satisfies? async-protocols/ReadPort result) (not (identical? result in)))
          own-out? (identical? result out)]
      ;; `locking` in tail position, here and in every step: a try elsewhere is
      ;; compiled as a fn, which cannot set! these fields.
      (locking this
        (when watch?
          (set! watched true)
          (when-not own-out?
            ;; A channel that yields `out` (an io-thread or go block that returned
            ;; it) hands closing it to the application too.
            (a/take! result (fn [v] (when-not (identical? v out) (a/close! out))) false)))
        (.pump this nil))))

  ;; ---- in: frames from the socket, backpressure to it
  (frame [this v]
    (locking this
      (if (or put-pending (not (.isEmpty overflow)))
        (do (.addLast overflow v)       ; behind the waiting put: the rest of this read
            (.holdBack this))
        (when (nil? (offer-now! in v))  ; false: `in` closed by the application, v dropped
          (set! put-pending true)
          (.putLater this v)
          (.holdBack this)))))

  (putLater [_ v]
    (when-let [ret (async-protocols/put! in v put-handler)]
      (put-cb @ret)))

  ;; Reading stops while a frame waits for room in `in`: this read's frames are
  ;; the last until then. Looked at for every frame that waits, not only the
  ;; first: after an application's resumeReading, reading would otherwise go on
  ;; and whole reads pile up in `overflow`. A pause that is already there and
  ;; not ours is the application's: `paused` stays false, so putDone leaves it.
  (holdBack [_]
    (when-not (.isReadingPaused conn)
      (set! paused true)
      (.pauseReading conn)))            ; on the loop thread: at once, this read is the last

  (putDone [this]
    (locking this
      ;; Not pending any more: the application closed `in` and inClosed gave up
      ;; on this put, which a later taker completed.
      (when put-pending
        (set! put-pending false)
        (loop []
          (when-let [v (.pollFirst overflow)]
            (let [r (offer-now! in v)]
              (cond (true? r) (recur)
                    (nil? r) (do (set! put-pending true)
                                 (.putLater this v))
                    :else (.clear overflow)))))
        (when-not put-pending
          (cond in-ending (.closeIn this)
                paused (do (set! paused false)
                           (.resumeReading conn)))))))

  ;; `in` was closed (close-buf!, on any thread, under `in`'s lock): only
  ;; queue the step, when it was the application that closed it.
  (inClosing [this]
    (when-not in-closed
      (on-loop lp #(.inClosed this))))

  (inClosed [this]
    (locking this
      ;; core.async keeps a put that was pending when its channel closed: ours
      ;; completes only if someone takes from `in` again, so its callback may
      ;; never come. Stop waiting for it (a late putDone finds nothing pending):
      ;; what the last read brought past it is dropped, and reading goes on,
      ;; dropping what arrives (offer! to a closed `in`), until the peer's EOF.
      (set! put-pending false)
      (.clear overflow)
      (when paused
        (set! paused false)
        (.resumeReading conn))))

  (closeIn [_]
    (set! in-closed true)               ; before close!, whose close-buf! looks at it
    (a/close! in))

  (peerClosed [this]
    (locking this
      (set! in-ending true)
      (when-not (or put-pending (not (.isEmpty overflow)))
        (.closeIn this))
      ;; Without a channel to say when the answer is complete, EOF ends `out`: what
      ;; was put before it is still sent, then the connection closes.
      (when-not watched
        (a/close! out))))

  ;; ---- out: values to the socket while it is writable
  (pump [this first]
    (locking this
      (set! yielded false)
      (when-not (or taking out-done ended)
        ;; Closing: `first` and the rest would never be sent. Off the loop thread
        ;; (a callback the closing loop refused) nothing can be sent either, and
        ;; the scratch buffer is the loop thread's.
        (if-not (and (.isOpen conn) (.inLoop lp))
          (.endOut this)
          (let [^ByteBuffer acc (.get scratch)]
            ;; Writability changes only when bytes reach the connection, so it is looked
            ;; at after each send (a full batch, or a value too big to gather) and at
            ;; the end of what `out` holds now, or of this task's share (next-value),
            ;; after which the pump goes on as a new task. A send the connection
            ;; refuses means it is closing: `out` ends there (endOut).
            ;;
            ;; `acc` is the loop's, shared by its connections: whatever happens here,
            ;; nothing gathered for this one is left in it for the next (finally).
            (try
              ;; `first`: the value a take! brought; else what `out` holds now.
              (loop [v (if (nil? first) (poll-now! out) first)
                     n 1                          ; values taken in this task, v included
                     sent 0]
                (cond
                  (or (nil? v) (identical? v yielding))
                  (if (and (send-batch! conn acc) (.isOpen conn))
                    (when (.isWritable conn)    ; else onWritabilityChanged pumps
                      (if (nil? v)
                        (do (set! taking true)
                            (when-let [ret (async-protocols/take! out take-handler)]
                              (take-cb @ret)))
                        (do (set! yielded true)
                            (.execute lp this))))
                    (.endOut this))
                  :else (let [r (->buffer v cs)]
                          (if-not (instance? ByteBuffer r)
                            (do (send-batch! conn acc) ; what came before it still goes
                                (.failOut this r))
                            (let [^ByteBuffer b r
                                  sent (+ sent (.remaining b))]
                              (if (<= (.remaining b) (.remaining acc))
                                (do (.put acc b)
                                    (recur (next-value out n sent) (inc n) sent))
                                (if (and (send-batch! conn acc)
                                         (if (<= (.remaining b) (.capacity acc))
                                           (do (.put acc b) true)
                                           (.send conn b))
                                         (.isOpen conn))
                                  (if (.isWritable conn)
                                    (recur (next-value out n sent) (inc n) sent)
                                    (when-not (send-batch! conn acc)
                                      (.endOut this)))
                                  (.endOut this))))))))
              (catch Throwable t
                (.failOut this t))
              (finally
                (.clear acc))))))))

  (taken [this v]
    (locking this
      (set! taking false)
      (cond ended (.endOut this)
            (nil? v) (do (set! out-done true)
                         (.close conn)) ; flushes, then closes
            :else (.pump this v))))

  ;; Nothing more will be sent: close `out` and drain it, so that producers
  ;; parked on it (pending puts outlive close!) are released, their threads
  ;; too, and later puts return false.
  (endOut [_]
    (set! out-done true)
    (a/close! out)
    (drain! out))

  ;; A value could not be sent (or pumping failed): the connection ends as a
  ;; handler that threw (HANDLER_ERROR, logged), and `out` with it, so that its
  ;; producers are released rather than left parked on a loop that stopped taking.
  (failOut [this t]
    (.endOut this)
    (.fail conn "sending a value from `out`" t))

  (ended [this cause]
    (locking this
      (set! ended true)
      (a/put! closed cause)
      (.endOut this)
      (set! in-ending true)
      (when-not (or put-pending (not (.isEmpty overflow)))
        (.closeIn this))))

  ;; The pump as a task of the loop: queued by itself (pump-values) and when the
  ;; connection becomes writable.
  Runnable
  (run [this]
    (.pump this nil))

  ;; What evloop.async's public fns read goes through an interface of Clojure's
  ;; own: reloading this namespace defines a new Channels class, and a field
  ;; access compiled against it would fail on the instances that open
  ;; connections still hold.
  clojure.lang.ILookup
  (valAt [this k]
    (.valAt this k nil))
  (valAt [this k not-found]
    (case k
      :in in
      :out out
      :closed closed
      :info (.info this)
      not-found))

  (info [_]
    {:in {:count (count in-buf) :size in-size :overflow (.size overflow)}
     :out {:count (count out-buf) :size out-size}
     :read-paused? (boolean paused)
     :out-paused? (not (or taking yielded out-done ended))
     :peer-closed? (.isPeerClosed conn)}))
