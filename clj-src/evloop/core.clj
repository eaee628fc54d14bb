(ns evloop.core
  "An epoll event loop you drive from the REPL.

  The loop (`open-loop`) keeps the shape of the Chicken Scheme echo server:
  a read table and a write table keyed by fd (`on-readable!`, `on-writable!`,
  `remove!`) and one callback per turn that receives the turn's pairs as
  `[fd #{:in :out :hup :err :rdhup :pri}]` (`on-turn!`). Events are keyword
  sets of readiness, decoded in one place (`decode-events`); how an fd is
  reported (level, edge, one-shot) is its trigger (`set-trigger!`).

  `start-server` runs a line server, over TCP or a Unix socket, in the style
  of http-kit and aleph: a handler (a fn, a var, or a map of fns) and an
  options map. `connect!` opens a connection the other way, with the same
  handlers. Pass a var (`#'handle-line`) and re-evaluating its `defn` changes
  the live server or client on the connections already open;
  `swap-handler!` does the same for any value.

  Everything is data from the REPL's point of view: `loop-info` (fds,
  connections, counters, utilization), `server-info`, `connections`,
  `recent-turns`, `utilization`. Nothing is kept in this namespace: loops,
  servers and connections are values you hold, so reloading it loses nothing.
  Bad options and arguments get one ex-info that names the key
  (`(:key (ex-data e))`), before anything is changed.

  Naming: a `!` ends every function called for its effect on a loop, a
  server or a connection (`on-readable!`, `send!`, `swap-handler!`,
  `connect!`...). `open-loop` and `start-server` return a new value you own
  and close; `stop-server` is its counterpart. Both keep the names users know
  from nREPL, http-kit and aleph."
  (:refer-clojure :exclude [run!])
  (:require [evloop.impl.client :as client]
            [evloop.impl.data :as data]
            [evloop.impl.errors :refer [with-native-errors]]
            [evloop.impl.enums :as enums]
            [evloop.impl.handler :as handler]
            [evloop.impl.options :as options]
            [evloop.impl.print]
            [evloop.impl.server :as server]
            [evloop.impl.tables :as tables])
  (:import (evloop EventLoop Interest ScheduledTask Trigger)
           (evloop.tcp Connection Sender)
           (java.nio ByteBuffer)
           (java.nio.charset StandardCharsets)
           (java.util.concurrent TimeUnit)))

(set! *warn-on-reflection* true)

;; ---- events ------------------------------------------------------------------

(defn decode-events
  "Keyword set of readiness (:in :out :pri :err :hup :rdhup), from the
  kernel's bit mask (an int; registration flags such as EPOLLET, the sign
  bit, are not readiness and are ignored) or from a `Set<Interest>`:
  `(decode-events (bit-or 1 0x2000))` => `#{:in :rdhup}`."
  [bits-or-set]
  (options/arg! "decode-events" :events bits-or-set
                [#(or (int? %) (and (instance? java.util.Set %) (every? (partial instance? Interest) %)))
                 "an int bit mask or a Set<evloop.Interest>"])
  (data/events bits-or-set))

(defn encode-events
  "The kernel's bit mask for a keyword set of readiness such as `#{:in :rdhup}`."
  [kws]
  (data/mask kws))

;; ---- the loop ------------------------------------------------------------------

(defn open-loop
  "Opens an event loop (epoll fd + wake-up eventfd). It does nothing until run:
  `run!` blocks the calling thread, `start-loop!` runs it on a thread of its
  own, `run-once!` turns it once. `close!` releases it. `opts`:
  `{:max-events 1024}`, the most pairs one turn takes from epoll_wait."
  (^EventLoop [] (open-loop {}))
  (^EventLoop [opts]
   (options/check-map "open-loop" options/loop-options opts)
   (let [{:keys [max-events] :or {max-events 1024}} opts]
     (with-native-errors {} (EventLoop/open (int max-events))))))

;; ---- its read table, write table and per-turn pairs ------------------------------

(defn on-readable!
  "Puts `(f fd events)` in the read table for `fd`; nil takes it out. The fd
  stays yours: the loop never closes it. If `f` throws, the loop takes the fd
  out of both tables and reports the error; closing it is up to you."
  [loop fd f]
  (options/loop! "on-readable!" loop)
  (options/fd! "on-readable!" fd)
  (options/arg! "on-readable!" :f f options/table-entry-arg)
  (with-native-errors {:fd fd} (.onReadable ^EventLoop loop (int fd) (tables/entry f)))
  loop)

(defn on-writable!
  "Puts `(f fd events)` in the write table for `fd`; nil takes it out. The fd
  is watched for :out only while it has an entry: take it out once drained."
  [loop fd f]
  (options/loop! "on-writable!" loop)
  (options/fd! "on-writable!" fd)
  (options/arg! "on-writable!" :f f options/table-entry-arg)
  (with-native-errors {:fd fd} (.onWritable ^EventLoop loop (int fd) (tables/entry f)))
  loop)

(defn remove!
  "Takes `fd` out of both tables and epoll. Do this before closing the fd."
  [loop fd]
  (options/loop! "remove!" loop)
  (options/fd! "remove!" fd)
  (with-native-errors {:fd fd} (.remove ^EventLoop loop (int fd)))
  loop)

(defn set-trigger!
  "How `fd` is reported: :level (default), :edge, :oneshot or :edge-oneshot."
  [^EventLoop loop fd mode]
  (options/loop! "set-trigger!" loop)
  (options/fd! "set-trigger!" fd)
  (let [[ok? allowed] options/trigger-modes]
    (when-not (ok? mode)
      (throw (options/bad "set-trigger!" :mode mode allowed))))
  (with-native-errors {:fd fd}
    (.setTrigger loop (int fd) ^Trigger (enums/->enum Trigger mode)))
  loop)

(defn dispatch!
  "Inside an `on-turn!` callback: hands this turn's pairs to the read and write
  tables, as the default callback does."
  [loop]
  (tables/dispatch! (options/loop! "dispatch!" loop))
  loop)

(defn on-turn!
  "Replaces the per-turn callback with `(f pairs)`, where pairs is a vector of
  `[fd #{events}]` from one epoll_wait: the Chicken server's
  fd-event-list-handler. Call `(dispatch! loop)` inside `f` to also run the
  tables; `(on-turn! loop nil)` restores the default."
  [loop f]
  (options/loop! "on-turn!" loop)
  (options/arg! "on-turn!" :f f options/turn-handler-arg)
  (.setTurnHandler ^EventLoop loop (tables/turn-handler f))
  loop)

;; ---- tasks, running it, and the loop as data -------------------------------------

(defn execute!
  "Runs `(f)` on the loop thread; safe from any thread."
  [loop f]
  (options/loop! "execute!" loop)
  (options/arg! "execute!" :f f options/task-arg)
  (.execute ^EventLoop loop ^Runnable f)
  loop)

(defn schedule!
  "Runs `(f)` on the loop thread after `ms` milliseconds. Returns a task that
  `cancel!` cancels."
  ^ScheduledTask [loop ms f]
  (options/loop! "schedule!" loop)
  (options/arg! "schedule!" :ms ms (options/int-option 0 Long/MAX_VALUE))
  (options/arg! "schedule!" :f f options/task-arg)
  (.schedule ^EventLoop loop (long ms) TimeUnit/MILLISECONDS ^Runnable f))

(defn cancel!
  "Cancels a scheduled task; true if it will never run, false if it ran."
  [task]
  (options/arg! "cancel!" :task task [#(instance? ScheduledTask %) "a task schedule! returned"])
  (.cancel ^ScheduledTask task))

(defn run-once!
  "Runs one turn on the calling thread, waiting up to `timeout-ms` (-1: until
  something happens). Returns the number of pairs."
  ([loop] (run-once! loop 0))
  ([loop timeout-ms]
   (options/loop! "run-once!" loop)
   (options/arg! "run-once!" :timeout-ms timeout-ms options/wait-ms-arg)
   (.runOnce ^EventLoop loop (int timeout-ms))))

(defn run!
  "Runs the loop on the calling thread until `stop!`."
  [loop]
  (.run (options/loop! "run!" loop)))

(defn start-loop!
  "Runs the loop on a new daemon thread; returns the loop once it runs. A loop
  that some thread runs already is refused (ex-info, :key :loop)."
  [loop]
  (let [^EventLoop loop (options/loop! "start-loop!" loop)
        started (promise)
        ;; A run that fails before it turns says why to the caller; one that fails later, or
        ;; returns without running the task below (closed meanwhile), lets the caller go too.
        thread (Thread. ^Runnable (fn []
                                    (try (.run loop)
                                         (catch Throwable e
                                           (when-not (deliver started e) (throw e)))
                                         (finally (deliver started true))))
                        "evloop-loop")]
    ;; Delivered by the new thread only. Another thread turning the loop meanwhile (a
    ;; run-once!, a step!) may take the task first: it queues itself again for the new one.
    (.execute loop (fn started? []
                     (cond (realized? started) nil
                           (identical? thread (Thread/currentThread)) (deliver started true)
                           :else (.execute loop ^Runnable started?))))
    (doto thread (.setDaemon true) (.start))
    (let [r @started]
      (when (instance? Throwable r)
        (throw (ex-info (str "start-loop!: " (.getMessage ^Throwable r)) {:key :loop :value loop} r))))
    loop))

(defn stop!
  "Makes the loop's `run!` return after the tasks queued so far; waits for it
  when called from another thread."
  [loop]
  (.stop (options/loop! "stop!" loop))
  loop)

(defn close!
  "Closes a loop, a server, a connection (gracefully, as `close-connection!`)
  or anything AutoCloseable; idempotent."
  [x]
  (cond (instance? Connection x) (.close ^Connection x)
        (instance? java.lang.AutoCloseable x) (.close ^java.lang.AutoCloseable x)
        :else (throw (options/bad "close!" :x x "a loop, a server, a connection or another java.lang.AutoCloseable"))))

(def ^:private max-traced-turns 1000000)

(defn trace!
  "With `on?`, records the pairs of the last `n` turns (default 64, at most a
  million) for `recent-turns` and `tap>`s each turn as `{:turn n :pairs
  [...]}`. Off by default: it copies every turn's pairs."
  ([loop on?] (trace! loop on? 64))
  ([loop on? n]
   (options/loop! "trace!" loop)
   (when-not (and (integer? n) (<= 1 n max-traced-turns))
     (throw (options/bad "trace!" :n n (str "an integer from 1 to " max-traced-turns))))
   (tables/record-turns! loop (if on? n 0))
   loop))

(defn recent-turns
  "The turns recorded since `trace!`, oldest first: `[{:turn n :pairs [[fd #{..}] ..]} ..]`."
  [loop]
  (tables/recent-turns (options/loop! "recent-turns" loop)))

(defn loop-info
  "The loop as data: whether it runs and on which thread, its registered fds
  (interest, tables, trigger), the connections on it (of any server or client,
  with their :direction), and its counters, among them :utilization, the share
  of its life spent in callbacks rather than waiting.

  The fds and connections are read on the loop thread, waiting up to
  `:timeout-ms` (default 5000). A loop that does not answer by then is stuck
  in a callback, and says so rather than guess: `{:responding? false :running?
  true :turn-ms <how long its turn has run> :stack [<its thread's frames>]
  :error \"...\" :stats {...}}`, without :fds and :connections."
  ([loop] (loop-info loop {}))
  ([loop {:keys [timeout-ms] :or {timeout-ms 5000} :as opts}]
   (options/loop! "loop-info" loop)
   (options/check-map "loop-info" options/info-options opts)
   (data/loop-info loop timeout-ms)))

(defn utilization
  "Samples `loop` for `:ms` milliseconds (default 1000) and returns
  `{:utilization u :turns-per-sec t :events-per-sec e :interval-ms ms}`, u in
  0..1: the share of that time the loop thread spent in callbacks, as
  libuv's and Node's event-loop utilization. Near 0 idle, near 1 saturated."
  ([loop] (utilization loop {}))
  ([loop {:keys [ms] :or {ms 1000} :as opts}]
   (options/loop! "utilization" loop)
   (options/check-map "utilization" {:ms (options/int-option 1 Integer/MAX_VALUE)} opts)
   (data/utilization loop ms)))

;; ---- servers and connections -------------------------------------------------------

(defn- conn! [f conn]
  (options/arg! f :conn conn [#(instance? Sender %) "a connection (evloop.tcp.Connection)"]))

(defn send!
  "Sends a string (any CharSequence, encoded in the connection's charset: its
  server's or client's :charset, UTF-8 for a connection a Java handler
  opened), a byte array or a ByteBuffer to `conn` (an `evloop.tcp.Sender`: a
  connection, or evloop.repl's replay stub); safe from any thread. False once
  closing. Anything else is refused (ex-info, :key :x): `(str x)` of a seq or
  an array is rarely what was meant."
  [conn x]
  (conn! "send!" conn)
  (cond (instance? ByteBuffer x) (.send ^Sender conn ^ByteBuffer x)
        (bytes? x) (.send ^Sender conn ^bytes x)
        (instance? CharSequence x) (let [^java.nio.charset.Charset cs (or (when (instance? Connection conn)
                                                                            (:charset (.attachment ^Connection conn)))
                                                                          StandardCharsets/UTF_8)]
                                     (.send ^Sender conn (.getBytes (.toString ^CharSequence x) cs)))
        :else (throw (options/bad "send!" :x x "a string (a CharSequence), a byte array or a java.nio.ByteBuffer"))))

(defn close-connection!
  "Closes `conn`: `how` :graceful (the default) after flushing its output,
  :abort resets it at once. Any other `how` is refused (ex-info, :key :how)."
  ([conn] (close-connection! conn :graceful))
  ([conn how]
   (options/arg! "close-connection!" :conn conn options/connection-arg)
   (case how
     :graceful (.close ^Connection conn)
     :abort (.abort ^Connection conn)
     (throw (ex-info (str "close-connection!: how must be :graceful or :abort, got " (pr-str how))
                     {:key :how :value how :allowed #{:graceful :abort}})))))

(defn set-timeouts!
  "Changes the timeouts of one open connection `conn` (a server's or a
  client's), replacing what its options gave it: `{:idle-timeout-ms n
  :read-timeout-ms n :write-timeout-ms n}`, in ms, 0 turns one off, a key left
  out keeps its value. Every clock starts over. Idle: no bytes either way;
  read: no complete line; write: queued output made no progress. Safe from
  any thread. A bad value or an unknown key throws an ex-info whose data
  holds the :key. Returns `conn`.

      (set-timeouts! conn {:idle-timeout-ms 300000})"
  [conn opts]
  (options/arg! "set-timeouts!" :conn conn options/connection-arg)
  (let [[idle read write] (options/timeouts opts)]
    (.setTimeouts ^Connection conn idle read write))
  conn)

(defn normalize-handler
  "Any Clojure handler start-server takes (a fn, a multimethod, a var, a map),
  as a map of its callbacks (:on-line ...). A Java TcpHandler has no Clojure
  callbacks: it throws an ex-info with :key :handler."
  [h]
  (handler/as-map (handler/check "normalize-handler" h)))

(defn start-server
  "Starts a line server and returns it: a `java.io.Closeable` map with :host,
  :port (the bound one: pass :port 0 for any), :path and :tcp (the Java server).

  `handler` is `(fn [conn line])` (or a multimethod) called per line (with
  its newline), a var
  holding one, or a map of callbacks: :on-line, :on-connect `(fn [conn])`,
  :on-close `(fn [conn cause])`, :on-writable `(fn [conn writable?])`,
  :on-timeout `(fn [conn which])` (truthy keeps the connection). A var (also
  one holding a map) is looked up per event: redefine it and open connections
  see the new code. If :on-line returns a string, bytes or ByteBuffer, it is
  sent back; anything else (nil, a number from a `swap!`...) sends nothing.
  A Java `evloop.tcp.TcpHandler` is used as is; a var holding one is looked up
  per event like any var (redefine it to another TcpHandler, or to a fn, and
  open connections follow).

  Options (all optional; an unknown key or a bad value throws an ex-info
  naming it):
    :host \"127.0.0.1\"   :port 6666 (0: any free port)
    :path              a Unix socket path (or \"@name\", an abstract one) instead
                       of TCP; a stale socket file is replaced, removed on stop
    :file-mode         permission bits of that file, e.g. 0660
    :loop              an EventLoop you run; default: loops of the server's own
    :loops 1           with :balance :least-loaded (default) or :reuse-port
    :max-line 65536    :max-clients     :backlog 4096
    :format :string    or :bytes, or :buffer (a view valid only during the call)
    :charset \"UTF-8\"   :no-delay true
    :low-watermark / :high-watermark (bytes; 256 KiB / 1 MiB)
    :close-timeout-ms 5000
    :idle-timeout-ms / :read-timeout-ms / :write-timeout-ms (0: off): close a
                       connection idle either way, completing no line (slowloris),
                       or whose output is stuck"
  ([handler] (start-server handler {}))
  ([handler opts]
   (server/start handler opts)))

(defn stop-server
  "Stops a server: the listener closes at once, then open connections get
  `:timeout` ms (default: the server's :close-timeout-ms) to flush before they
  are reset. Returns at once with something to deref, which yields :stopped
  when everything is released: `@(stop-server s)`. Idempotent."
  ([server] (stop-server server {}))
  ([server {:keys [timeout] :as opts}]
   (server/stop server opts)))

(defn server-status
  "`:running`, `:stopping` (listener closed, connections flushing) or `:stopped`."
  [server]
  (server/status (server/tcp "server-status" server)))

(defn swap-handler!
  "Replaces a running server's handler (any form `start-server` takes, a Java
  TcpHandler too); open connections use it from their next event, but those
  that keep their own (`Connection.keepHandler`): evloop.async's channel
  connections keep their channels until they end."
  [server handler]
  (server/swap-handler! server handler))

(defn server-loop
  "The EventLoop a server runs on (the first, with several)."
  ^EventLoop [server]
  (.loop (server/tcp "server-loop" server)))

(defn connections
  "The server's open connections as data: :fd :peer :direction :state, byte
  and frame counters, timeouts; on a Unix socket also the peer process's :pid
  :uid :gid (SO_PEERCRED). Asked of each loop thread: a loop of the running
  server that does not answer within 5 s (stuck in a callback) makes it throw
  rather than list none; `server-info` says which."
  [server]
  (server/connections (server/tcp "connections" server)))

(defn server-info
  "The server as data: address, status, counters, connections and its loops.
  It still answers after the server has stopped. Each loop is asked as
  `loop-info` asks it, waiting up to `:timeout-ms` (default 5000); if one is
  stuck in a callback the answer says `:responding? false`, :connections is
  nil (they cannot be listed without that loop), and that loop's entry in
  :loops has its :turn-ms and its thread's :stack."
  ([server] (server-info server {}))
  ([server opts] (server/info server opts)))

(defn connect!
  "Opens a connection to `{:host :port}` (a name, resolved off the loop, or an
  IPv4/IPv6 literal) or to a Unix socket `{:path}`, and returns it once
  connected, to `send!` to and `close-connection!`. Failure throws an ex-info
  naming the target and errno: `connect(127.0.0.1:1): ECONNREFUSED ...`. An
  interrupt while it waits abandons the attempt (its socket is closed at once)
  and throws an ex-info, with the thread's interrupt status set again.

  `handler` takes the forms `start-server` takes (default: ignore what
  arrives); a var is looked up per event, so redefining it applies to the open
  connection. The callbacks run with the bindings of the thread that called
  connect! (its *out*, say), so at the REPL `println` in a handler prints there.

  Options: those of `start-server` that make sense for one connection (:format,
  :charset, :max-line, watermarks, timeouts, :no-delay), plus :loop (default:
  a loop of its own, closed when the connection closes), :connect-timeout-ms
  (10000: resolving and connecting together; each address of a name gets an
  equal share of the time left, and a Unix socket whose backlog is full is
  tried again within it), :local-host / :local-port. Change its timeouts
  later with `set-timeouts!`.

      (def c (connect! {:port 6666} {:on-line (fn [_ l] (println \"got\" l))}))
      (send! c \"hi\\n\")   ; prints: got hi"
  ([opts] (connect! opts {:on-line (fn [_ _] nil)}))
  ([opts handler]
   (client/connect opts handler)))
