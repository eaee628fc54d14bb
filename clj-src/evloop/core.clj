(ns evloop.core
  "An epoll event loop you drive from the REPL.

  The loop (`open-loop`) keeps the shape of the Chicken Scheme echo server:
  a read table and a write table keyed by fd (`on-readable!`, `on-writable!`,
  `remove!`) and one callback per turn that receives the turn's pairs as
  `[fd #{:in :out :hup :err :rdhup :pri}]` (`on-turn!`). Events are keyword
  sets of readiness, decoded in one place (`decode-events`); how an fd is
  reported (level, edge, one-shot) is its trigger (`set-trigger!`).

  Naming: a `!` ends every function called for its effect on a loop, a
  server or a connection (`on-readable!`, `send!`, `swap-handler!`,
  `connect!`...). `open-loop` and `start-server` return a new value you own
  and close; `stop-server` is its counterpart. Both keep the names users know
  from nREPL, http-kit and aleph.

  `start-server` runs a TCP server on a loop in the style of http-kit and
  aleph: a handler fn (or a map of fns, or a var) and an options map. It
  returns a `java.io.Closeable` value that prints its address. Pass a var
  (`#'handle-line`) and re-evaluating its `defn` changes the live server on
  the connections already open; `swap-handler!` does the same for any value.

  Everything here is data from the REPL's point of view: `loop-info`,
  `server-info`, `connections`, `recent-turns`. Nothing is kept in this
  namespace: the loop and the server are values you hold, so reloading it
  loses nothing."
  (:refer-clojure :exclude [run!])
  (:require [evloop.impl.enums :as enums]
            [evloop.impl.handler :as handler])
  (:import (evloop EventLoop FdEvent FdHandler FdInfo Interest LoopStats
                   ScheduledTask Trigger TurnHandler)
           (evloop.tools LoopControl TurnRecord)
           (evloop.sys NativeException)
           (evloop.tcp Connection ConnectionInfo DisconnectCause Sender ServerConfig
                       ServerStats TcpHandler TcpServer TcpServer$Balance)
           (java.io Closeable UncheckedIOException)
           (java.net InetSocketAddress)
           (java.nio ByteBuffer)
           (java.nio.charset Charset StandardCharsets)
           (java.time Duration)
           (java.util Set)
           (java.util.concurrent TimeUnit)
           (java.util.function Consumer)))

(set! *warn-on-reflection* true)

;; ---- events ------------------------------------------------------------------

(def ^:private interest->keyword
  (into {} (for [^Interest i (Interest/values)]
             [i (enums/->keyword i)])))

(def ^:private keyword->interest
  (into {} (map (juxt val key)) interest->keyword))

(def ^:private event-sets
  "Every decoded set `Interest/decode` can return, mapped to its keyword set:
  decoding a turn's events is then one map lookup per pair."
  (into {} (for [index (range (bit-shift-left 1 (count (Interest/values))))
                 :let [bits (reduce (fn [b ^Interest i]
                                      (if (bit-test index (.ordinal i))
                                        (bit-or b (.mask i))
                                        b))
                                    0 (Interest/values))
                       s (Interest/decode (unchecked-int bits))]]
             [s (into #{} (map interest->keyword) s)])))

(defn decode-events
  "Keyword set of readiness (:in :out :pri :err :hup :rdhup), from the
  kernel's bit mask (an int; registration flags such as EPOLLET, the sign
  bit, are not readiness and are ignored) or from a `Set<Interest>`:
  `(decode-events (bit-or 1 0x2000))` => `#{:in :rdhup}`."
  [bits-or-set]
  (let [^Set s (if (instance? Set bits-or-set)
                 bits-or-set
                 (Interest/decode (unchecked-int bits-or-set)))]
    (event-sets s)))

(defn encode-events
  "The kernel's bit mask for a keyword set of readiness such as `#{:in :rdhup}`."
  [kws]
  (reduce (fn [bits k]
            (if-let [^Interest i (keyword->interest k)]
              (bit-or bits (.mask i))
              (throw (ex-info (str "unknown event " (pr-str k) "; events are " (sort (vals interest->keyword)))
                              {:event k :known (set (vals interest->keyword))}))))
          0 kws))

(defn- pair [^FdEvent e]
  [(.fd e) (decode-events (.events e))])

;; ---- errors ------------------------------------------------------------------

(defn- native-ex-info [^NativeException e data]
  (ex-info (.getMessage e)
           (merge {:syscall (.syscall e) :errno (.errno e) :errno-name (.errnoName e)} data)
           e))

(defmacro ^:private with-native-errors
  "Turns a failed system call into ex-info carrying :syscall, :errno and `data`."
  [data & body]
  `(try
     ~@body
     (catch NativeException e# (throw (native-ex-info e# ~data)))
     (catch UncheckedIOException e#
       (if-let [c# (.getCause e#)]
         (if (instance? NativeException c#)
           (throw (native-ex-info c# ~data))
           (throw e#))
         (throw e#)))))

;; ---- the loop ------------------------------------------------------------------

(defn open-loop
  "Opens an event loop (epoll fd + wake-up eventfd). It does nothing until run:
  `run!` blocks the calling thread, `start-loop!` runs it on a thread of its
  own, `run-once!` turns it once. `close!` releases it."
  (^EventLoop [] (with-native-errors {} (EventLoop/open)))
  (^EventLoop [{:keys [max-events] :or {max-events 1024}}]
   (with-native-errors {} (EventLoop/open (int max-events)))))

(defn- fd-handler ^FdHandler [f]
  (reify FdHandler
    (handle [_ fd events] (f fd (decode-events events)))))

(defn on-readable!
  "Puts `(f fd events)` in the read table for `fd`; nil takes it out. The fd
  stays yours: the loop never closes it. If `f` throws, the loop takes the fd
  out of both tables and reports the error; closing it is up to you."
  [^EventLoop loop fd f]
  (with-native-errors {:fd fd} (.onReadable loop (int fd) (some-> f fd-handler)))
  loop)

(defn on-writable!
  "Puts `(f fd events)` in the write table for `fd`; nil takes it out. The fd
  is watched for :out only while it has an entry: take it out once drained."
  [^EventLoop loop fd f]
  (with-native-errors {:fd fd} (.onWritable loop (int fd) (some-> f fd-handler)))
  loop)

(defn remove!
  "Takes `fd` out of both tables and epoll. Do this before closing the fd."
  [^EventLoop loop fd]
  (with-native-errors {:fd fd} (.remove loop (int fd)))
  loop)

(defn set-trigger!
  "How `fd` is reported: :level (default), :edge, :oneshot or :edge-oneshot."
  [^EventLoop loop fd mode]
  (with-native-errors {:fd fd}
    (.setTrigger loop (int fd) ^Trigger (enums/->enum Trigger mode)))
  loop)

(def ^:dynamic ^:private *ready* nil)

(defn dispatch!
  "Inside an `on-turn!` callback: hands this turn's pairs to the read and write
  tables, as the default callback does."
  [^EventLoop loop]
  (when-not *ready*
    (throw (ex-info "dispatch! works only inside an on-turn! callback" {})))
  (.dispatch loop ^evloop.Ready *ready*)
  loop)

(defn on-turn!
  "Replaces the per-turn callback with `(f pairs)`, where pairs is a vector of
  `[fd #{events}]` from one epoll_wait. Call `(dispatch! loop)` inside `f` to
  also run the tables; `(on-turn! loop nil)` restores the default."
  [^EventLoop loop f]
  (.setTurnHandler loop
                   (when f
                     (reify TurnHandler
                       (onTurn [_ _ ready]
                         (binding [*ready* ready]
                           (f (mapv pair (.copy ready))))))))
  loop)

(defn execute!
  "Runs `(f)` on the loop thread; safe from any thread."
  [^EventLoop loop f]
  (.execute loop ^Runnable f)
  loop)

(defn schedule!
  "Runs `(f)` on the loop thread after `ms` milliseconds. Returns a task that
  `cancel!` cancels."
  ^ScheduledTask [^EventLoop loop ms f]
  (.schedule loop (long ms) TimeUnit/MILLISECONDS ^Runnable f))

(defn cancel!
  "Cancels a scheduled task; false if it already ran."
  [^ScheduledTask task]
  (.cancel task))

(defn run-once!
  "Runs one turn on the calling thread, waiting up to `timeout-ms` (-1: until
  something happens). Returns the number of pairs."
  ([loop] (run-once! loop 0))
  ([^EventLoop loop timeout-ms] (.runOnce loop (int timeout-ms))))

(defn run!
  "Runs the loop on the calling thread until `stop!`."
  [^EventLoop loop]
  (.run loop))

(defn start-loop!
  "Runs the loop on a new daemon thread; returns the loop once it runs."
  [^EventLoop loop]
  (let [t (doto (Thread. ^Runnable #(.run loop) "evloop-loop") (.setDaemon true) (.start))]
    (while (and (not (.isRunning loop)) (.isAlive t)) (Thread/onSpinWait))
    loop))

(defn stop!
  "Makes the loop's `run!` return; waits for it when called from another thread."
  [^EventLoop loop]
  (.stop loop)
  loop)

(defn close!
  "Closes a loop, a server or anything AutoCloseable; idempotent."
  [^java.lang.AutoCloseable x]
  (.close x))

(defn- stats->map [^LoopStats s]
  {:turns (.turns s) :events (.events s) :stale (.stale s) :wakeups (.wakeups s)
   :tasks (.tasks s) :timers (.timers s) :registered (.registered s)
   :pending-timers (.pendingTimers s)
   :idle-ms (quot (.idleNanos s) 1000000) :busy-ms (quot (.busyNanos s) 1000000)})

(defn- fd-info->map [^FdInfo i]
  {:fd (.fd i)
   :interest (decode-events (.interest i))
   :tables (cond-> #{} (.reader i) (conj :read) (.writer i) (conj :write))
   :trigger (enums/->keyword (.trigger i))
   :generation (.generation i)})

(defn trace!
  "With `on?`, records the pairs of the last `n` turns (default 64) for
  `recent-turns` and `tap>`s each turn as `{:turn n :pairs [...]}`. Off by
  default: it copies every turn's pairs."
  ([loop on?] (trace! loop on? 64))
  ([^EventLoop loop on? n]
   (.recordTurns (LoopControl/of loop) (if on? (int n) 0)
                 (when on?
                   (reify Consumer
                     (accept [_ t]
                       (let [^TurnRecord t t]
                         (tap> {:turn (.turn t) :pairs (mapv pair (.pairs t))}))))))
   loop))

(defn recent-turns
  "The turns recorded since `trace!`, oldest first: `[{:turn n :pairs [[fd #{..}] ..]} ..]`."
  [^EventLoop loop]
  (mapv (fn [^TurnRecord t] {:turn (.turn t) :pairs (mapv pair (.pairs t))})
        (.recentTurns (LoopControl/of loop))))

(defn loop-info
  "The loop as data: its registered fds (interest, tables, trigger), counters,
  and whether it runs."
  [^EventLoop loop]
  (if (.isClosed loop)
    {:closed? true}
    {:closed? false
     :running? (.isRunning loop)
     :fds (mapv fd-info->map (.fds loop))
     :stats (stats->map (.stats loop))}))

;; ---- the TCP server --------------------------------------------------------------

(defn- ->bytes ^bytes [x ^Charset cs]
  (cond (bytes? x) x
        (string? x) (.getBytes ^String x cs)
        :else (.getBytes (str x) cs)))

(defn send!
  "Sends a string (encoded in the connection's charset, UTF-8 unless set), a
  byte array or a ByteBuffer to `conn` (an `evloop.tcp.Sender`: a connection,
  or evloop.repl's replay stub); safe from any thread. False once closing."
  [^Sender conn x]
  (if (instance? ByteBuffer x)
    (.send conn ^ByteBuffer x)
    (.send conn (->bytes x (or (when (instance? Connection conn)
                                 (:charset (.attachment ^Connection conn)))
                               StandardCharsets/UTF_8)))))

(defn close-connection!
  "Closes `conn` after flushing its output; `:abort` resets it at once."
  ([^Connection conn] (.close conn))
  ([^Connection conn how] (if (= how :abort) (.abort conn) (.close conn))))

(defn normalize-handler
  "A fn or var is the line handler; a map may hold :on-connect, :on-line,
  :on-close and :on-writable."
  [h]
  (if (map? h) h {:on-line h}))

(defrecord Server [^TcpServer tcp handler-ref frame-log host port]
  Closeable
  (close [_] (.close tcp)))

(defmethod print-method Server [^Server s ^java.io.Writer w]
  (.write w (str "#evloop/server{:host " (pr-str (:host s)) " :port " (:port s)
                 " :active " (.active (.stats ^TcpServer (:tcp s))) "}")))

(defn start-server
  "Starts a TCP line server and returns it: a `java.io.Closeable` map with
  :host, :port (the bound one: pass :port 0 for any), :tcp (the Java server).

  `handler` is `(fn [conn line])` called per line (with its newline), a var
  holding one (looked up per line: redefine it and open connections see the
  new code), or a map of :on-line, :on-connect `(fn [conn])`, :on-close
  `(fn [conn cause])`, :on-writable `(fn [conn writable?])`. If :on-line
  returns a string, bytes or ByteBuffer, it is sent back; nil sends nothing.
  A Java `evloop.tcp.TcpHandler` (e.g. from evloop.blocking) is used as is.

  Options: :host (\"127.0.0.1\"), :port (6666), :loop (an EventLoop you run;
  default a loop and thread of the server's own), :loops (default 1: loops and
  threads of the server's own) with :balance (:least-loaded or :reuse-port),
  :max-line (65536),
  :max-clients, :format (:string, :bytes or :buffer, the latter a view valid
  only during the call), :charset (\"UTF-8\"), :low-watermark / :high-watermark
  (bytes), :close-timeout-ms, :no-delay (true)."
  [handler {:keys [host port loop loops balance max-line max-clients format charset
                   low-watermark high-watermark close-timeout-ms no-delay]
            :or {host "127.0.0.1" port 6666 max-line 65536 format :string
                 charset "UTF-8" low-watermark (* 256 1024) high-watermark (* 1024 1024)
                 loops 1 balance :least-loaded
                 close-timeout-ms 5000 no-delay true}}]
  (let [cs (Charset/forName charset)
        handler-ref (atom (normalize-handler handler))
        cfg (cond-> (doto (ServerConfig.)
                      (.host host) (.port (int port)) (.maxLineLength (int max-line))
                      (.watermarks (long low-watermark) (long high-watermark))
                      (.closeTimeout (Duration/ofMillis close-timeout-ms))
                      (.noDelay (boolean no-delay))
                      (.loops (int loops))
                      (.balance ^TcpServer$Balance (enums/->enum TcpServer$Balance balance)))
              max-clients (.maxClients (int max-clients)))
        h (if (instance? TcpHandler handler) handler (handler/tcp-handler handler-ref format cs))
        tcp (with-native-errors {:host host :port port}
              (if loop
                (TcpServer/start ^EventLoop loop cfg ^TcpHandler h)
                (TcpServer/start cfg ^TcpHandler h)))]
    (->Server tcp handler-ref (atom []) host (.port ^TcpServer tcp))))

(defn stop-server
  "Stops a server: listener first, then connections flush and close. Idempotent."
  [^Closeable server]
  (.close server))

(defn swap-handler!
  "Replaces a running server's handler (same forms as `start-server`); open
  connections use it from their next line."
  [server handler]
  (swap! (:handler-ref server) (fn [{:keys [record]}]
                                 (cond-> (normalize-handler handler) record (assoc :record record))))
  server)

(defn server-loop
  "The EventLoop a server runs on."
  ^EventLoop [server]
  (.loop ^TcpServer (:tcp server)))

(defn- addr-str [^InetSocketAddress a]
  (str (.getHostAddress (.getAddress a)) ":" (.getPort a)))

(defn connections
  "The server's open connections as data."
  [server]
  (mapv (fn [^ConnectionInfo c]
          {:fd (.fd c) :peer (addr-str (.peer c)) :state (keyword (.state c))
           :bytes-in (.bytesIn c) :bytes-out (.bytesOut c) :frames-in (.framesIn c)
           :buffered-in (.bufferedIn c) :queued-out (.queuedOut c)
           :read-paused? (or (.outputBackedUp c) (.readingPaused c))
           :output-backed-up? (.outputBackedUp c)})
        (.connections ^TcpServer (:tcp server))))

(defn server-info
  "The server as data: address, counters, connections and its loop."
  [server]
  (let [^TcpServer tcp (:tcp server)
        ^ServerStats s (.stats tcp)]
    {:host (:host server) :port (:port server)
     :stats {:accepted (.accepted s) :active (.active s) :rejected (.rejected s)
             :bytes-in (.bytesIn s) :bytes-out (.bytesOut s) :frames-in (.framesIn s)
             :backpressure-pauses (.backpressurePauses s) :accept-pauses (.acceptPauses s)}
     :connections (connections server)
     :loop (loop-info (.loop tcp))
     :loops (mapv (fn [l load] (assoc (loop-info l) :connections load)) (.loops tcp) (.loads tcp))}))
