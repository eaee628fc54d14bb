(ns evloop.repl
  "Turn-level control of a live loop from the REPL, beyond what any event loop
  offers its users:

  - `pause!` stops dispatching after the current turn (connections stay
    open, the kernel buffers), `step!` runs exactly one turn and returns its
    pairs, `resume!` lets it run on.
  - `inject!` hands synthetic `[fd #{events}]` pairs to the per-turn callback.
  - `record-frames!` keeps the last lines each connection sent; `replay!`
    runs such lines through a handler with a socket-free connection stub and
    returns what it would have written: a bug seen live, reproduced in the REPL.
  - `watch!` reports a handler that blocks the loop thread, and a loop that
    spins."
  (:require [evloop.core :as ev]
            [evloop.impl.handler :as handler]
            [evloop.impl.options :as options]
            [evloop.impl.server :as server])
  (:import (evloop EventLoop FdEvent Interest)
           (evloop.tools LoopControl)
           (evloop.tcp Connection Sender)
           (java.util.function Consumer)))

(set! *warn-on-reflection* true)

(defn pause!
  "Stops the loop's dispatching after its current turn; it still answers the
  REPL (`loop-info`, `step!`). Returns the loop."
  [loop]
  (.pause (LoopControl/of (options/loop! "pause!" loop)))
  loop)

(defn resume!
  "Lets a paused loop run on; buffered input is handled in the next turns."
  [loop]
  (.resume (LoopControl/of (options/loop! "resume!" loop)))
  loop)

(defn step!
  "Runs exactly one turn of a paused (or not running) loop, waiting up to
  `timeout-ms` (default 100; -1 waits until something happens) for events,
  and returns its pairs as data: `[[fd #{:in}] ...]`."
  ([loop] (step! loop 100))
  ([loop timeout-ms]
   (options/loop! "step!" loop)
   (options/arg! "step!" :timeout-ms timeout-ms options/wait-ms-arg)
   (mapv (fn [^FdEvent e] [(.fd e) (ev/decode-events (.events e))])
         (.step (LoopControl/of loop) (int timeout-ms)))))

(defn- ->interest-set [kws]
  (Interest/decode (unchecked-int (ev/encode-events kws))))

(defn inject!
  "Hands synthetic pairs `[[fd #{:in}] ...]` to the loop's per-turn callback as
  if epoll had returned them: try a handler without a real client. A pair not
  of that shape throws an ex-info with :key :pairs (or :events)."
  [loop pairs]
  (options/loop! "inject!" loop)
  (when-not (and (sequential? pairs)
                 (every? #(and (vector? %) (= 2 (count %)) (int? (first %)) (<= 0 (first %) Integer/MAX_VALUE)) pairs))
    (throw (ex-info (str "inject!: pairs must be [[fd #{:in ...}] ...] with fd a non-negative integer, got " (pr-str pairs))
                    {:key :pairs :value pairs})))
  (.inject (LoopControl/of loop) (mapv (fn [[fd events]] (FdEvent. (int fd) (->interest-set events))) pairs))
  loop)

(defn record-frames!
  "Keeps the last `n` lines (default 256) the server's connections sent, for
  `recent-frames` and `replay!`; `false` stops recording. The log is a ring:
  it never holds more than `n` lines."
  ([server on?] (record-frames! server on? 256))
  ([server on? n]
   (server/check "record-frames!" server)
   (options/arg! "record-frames!" :on? on? [#(or (boolean? %) (nil? %)) "true, or false (or nil) to stop"])
   ;; Lines are recorded by the Clojure bridge: a Java handler's never pass through it.
   (when on?
     (when-not (identical? (:bridge server) (.handler (server/tcp "record-frames!" server)))
       (throw (ex-info "record-frames!: the server runs a Java TcpHandler, whose lines never pass through the Clojure bridge that records them"
                       {:key :handler :value (.handler (server/tcp "record-frames!" server))})))
     (handler/clojure-only! "record-frames!" (:handler @(:handler-ref server))))
   (when-not (and (integer? n) (<= 1 n Integer/MAX_VALUE))
     (throw (ex-info (str "record-frames!: n must be an integer from 1 to " Integer/MAX_VALUE ", got " (pr-str n))
                     {:key :n :value n :allowed (str "an integer from 1 to " Integer/MAX_VALUE)})))
   (let [log (:frame-log server)]
     (reset! log clojure.lang.PersistentQueue/EMPTY)
     (swap! (:handler-ref server) assoc :record
            (when on?
              (fn [^Connection conn line]
                (swap! log (fn [q] (let [q (conj q {:fd (.fd conn) :line line})]
                                     (if (> (count q) n) (pop q) q)))))))
     server)))

(defn recent-frames
  "The recorded lines, oldest first: `[{:fd 12 :line \"hello\\n\"} ...]`;
  `fd` keeps only that connection's."
  ([server] (vec @(:frame-log (server/check "recent-frames" server))))
  ([server fd]
   (options/fd! "recent-frames" fd)
   (filterv #(= fd (:fd %)) (recent-frames server))))

(deftype ReplayConnection [sent]
  Sender
  (^boolean send [_ ^java.nio.ByteBuffer b]
    (let [a (byte-array (.remaining b))]
      (.get (.duplicate b) a)
      (swap! sent conj (String. a "UTF-8"))
      true))
  (^boolean send [_ ^bytes a]
    (swap! sent conj (String. a "UTF-8"))
    true))

(defn replay!
  "Runs `lines` (strings, or maps with :line as `recent-frames` returns)
  through `handler` (any Clojure form `start-server` takes; a Java TcpHandler
  throws an ex-info with :key :handler) with a socket-free
  connection stub, calling :on-connect first and :on-close with :peer-closed
  last. Returns everything the handler sent or returned, in order, as text."
  [handler lines]
  (options/arg! "replay!" :lines lines
                [#(and (or (sequential? %) (instance? java.util.List %))
                       (every? (fn [l] (or (string? l) (and (map? l) (string? (:line l))))) %))
                 "a sequence of strings, or of maps with a :line string as recent-frames returns"])
  (let [{:keys [on-connect on-line on-close]} (ev/normalize-handler handler)
        sent (atom [])
        conn (ReplayConnection. sent)]
    (when on-connect (on-connect conn))
    (doseq [l lines
            :let [line (if (map? l) (:line l) l)
                  reply (when on-line (on-line conn line))]]
      (when (or (string? reply) (bytes? reply) (instance? java.nio.ByteBuffer reply))
        (ev/send! conn reply)))
    (when on-close (on-close conn :peer-closed))
    @sent))

(def ^:private watch-options
  {:stall-ms (options/int-option 0 Integer/MAX_VALUE)
   :empty-turns-per-sec (options/int-option 0 Integer/MAX_VALUE)})

(defn watch!
  "Reports, to the log and as `tap>` of `{:evloop/watchdog message}`, a turn
  running longer than `:stall-ms` (default 100; the loop thread's stack is
  included) and more than `:empty-turns-per-sec` (default 10000) turns a
  second without events or work; 0 turns either check off. An unknown key or
  a value that is not such an integer is refused (ex-info naming the key).
  `(watch! loop nil)` stops watching; `(watch! loop)` watches with the defaults."
  ([loop] (watch! loop {}))
  ([loop {:keys [stall-ms empty-turns-per-sec] :or {stall-ms 100 empty-turns-per-sec 10000} :as opts}]
   (options/loop! "watch!" loop)
   (when (some? opts)
     (options/check-map "watch!" watch-options opts))
   (if (nil? opts)
     (.watch (LoopControl/of loop) 0 0 nil)
     (.watch (LoopControl/of loop) (long stall-ms) (int empty-turns-per-sec)
             (reify Consumer (accept [_ msg] (tap> {:evloop/watchdog msg})))))
   loop))
