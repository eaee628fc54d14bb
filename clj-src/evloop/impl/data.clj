(ns evloop.impl.data
  "evloop's Java objects as plain data, for the REPL: loops, fds,
  connections, counters. An implementation detail of evloop.core."
  (:require [clojure.string :as str]
            [evloop.impl.enums :as enums])
  (:import (evloop EventLoop FdEvent FdInfo Interest LoopStats)
           (evloop.net UnixAddress)
           (evloop.tools TurnRecord)
           (evloop.tcp ClientStats ConnectionInfo PeerCredentials ServerStats)
           (java.net InetSocketAddress)
           (java.time Duration)
           (java.util Set)
           (java.util.concurrent RejectedExecutionException)
           (java.util.function Supplier)))

(set! *warn-on-reflection* true)

(def ^:private interest->keyword
  (into {} (for [^Interest i (Interest/values)] [i (enums/->keyword i)])))

(def keyword->interest
  "Readiness keyword -> Interest."
  (into {} (map (juxt val key)) interest->keyword))

(def ^:private event-sets
  "Every set Interest/decode can return, mapped to its keyword set: decoding
  a turn's events is then one map lookup per pair."
  (into {} (for [index (range (bit-shift-left 1 (count (Interest/values))))
                 :let [bits (reduce (fn [b ^Interest i]
                                      (if (bit-test index (.ordinal i)) (bit-or b (.mask i)) b))
                                    0 (Interest/values))
                       s (Interest/decode (unchecked-int bits))]]
             [s (into #{} (map interest->keyword) s)])))

(defn events
  "Keyword set of a kernel bit mask or a Set<Interest>."
  [bits-or-set]
  (event-sets (if (instance? Set bits-or-set)
                bits-or-set
                (Interest/decode (unchecked-int bits-or-set)))))

(defn mask
  "The kernel's bit mask for a keyword set of readiness; anything else (an
  unknown keyword, a keyword not in a set) throws an ex-info with :key :events."
  [kws]
  (let [known (set (keys keyword->interest))
        bad (fn [why v] (ex-info (str why (pr-str v) "; events are a set of " (str/join " " (sort known)))
                                 {:key :events :value v :allowed known}))]
    (when-not (and (coll? kws) (not (map? kws)))
      (throw (bad "events must be a set of keywords, got " kws)))
    (reduce (fn [bits k]
              (if-let [^Interest i (keyword->interest k)]
                (bit-or bits (.mask i))
                (throw (bad "unknown event " k))))
            0 kws)))

(defn pair
  "An FdEvent as [fd #{events}]."
  [^FdEvent e]
  [(.fd e) (events (.events e))])

(defn turn
  "A recorded turn as {:turn n :pairs [[fd #{events}] ...]}."
  [^TurnRecord t]
  {:turn (.turn t) :pairs (mapv pair (.pairs t))})

(defn address
  "\"127.0.0.1:6666\", \"[::1]:6666\" or \"unix:/path\"."
  [a]
  (cond (instance? InetSocketAddress a)
        (let [^InetSocketAddress a a
              host (.getHostAddress (.getAddress a))]
          (str (if (.contains host ":") (str "[" host "]") host) ":" (.getPort a)))
        (instance? UnixAddress a) (str a)
        :else (str a)))

(defn loop-stats
  "LoopStats as a map; :utilization is busy / (busy + idle) since the loop opened."
  [^LoopStats s]
  (let [busy (.busyNanos s) idle (.idleNanos s)]
    {:turns (.turns s) :events (.events s) :stale (.stale s) :wakeups (.wakeups s)
     :tasks (.tasks s) :timers (.timers s) :registered (.registered s)
     :pending-timers (.pendingTimers s)
     :idle-ms (quot idle 1000000) :busy-ms (quot busy 1000000)
     :utilization (if (pos? (+ busy idle)) (double (/ busy (+ busy idle))) 0.0)}))

(defn fd-info
  "FdInfo as a map."
  [^FdInfo i]
  {:fd (.fd i)
   :interest (events (.interest i))
   :tables (cond-> #{} (.reader i) (conj :read) (.writer i) (conj :write))
   :trigger (enums/->keyword (.trigger i))
   :generation (.generation i)})

(defn- ms [nanos] (quot nanos 1000000))

(defn connection
  "ConnectionInfo as a map; a Unix socket's has the peer's :pid :uid :gid."
  [^ConnectionInfo c]
  (cond-> {:fd (.fd c) :peer (address (.peer c))
           :direction (if (.outbound c) :outbound :inbound)
           :state (keyword (.state c))
           :bytes-in (.bytesIn c) :bytes-out (.bytesOut c) :frames-in (.framesIn c)
           :buffered-in (.bufferedIn c) :queued-out (.queuedOut c)
           :read-paused? (or (.outputBackedUp c) (.readingPaused c))
           :output-backed-up? (.outputBackedUp c)}
    (pos? (.idleTimeoutNanos c)) (assoc :idle-timeout-ms (ms (.idleTimeoutNanos c)))
    (pos? (.readTimeoutNanos c)) (assoc :read-timeout-ms (ms (.readTimeoutNanos c)))
    (pos? (.writeTimeoutNanos c)) (assoc :write-timeout-ms (ms (.writeTimeoutNanos c)))
    (.peerCredentials c) (merge (let [^PeerCredentials p (.peerCredentials c)]
                                  {:pid (.pid p) :uid (.uid p) :gid (.gid p)}))))

(defn server-stats
  "ServerStats as a map."
  [^ServerStats s]
  {:accepted (.accepted s) :active (.active s) :rejected (.rejected s)
   :bytes-in (.bytesIn s) :bytes-out (.bytesOut s) :frames-in (.framesIn s)
   :backpressure-pauses (.backpressurePauses s) :accept-pauses (.acceptPauses s)})

(defn client-stats
  "ClientStats as a map."
  [^ClientStats s]
  {:connected (.connected s) :failed (.failed s) :active (.active s)
   :bytes-in (.bytesIn s) :bytes-out (.bytesOut s) :frames-in (.framesIn s)
   :backpressure-pauses (.backpressurePauses s)})

(defn- stalled
  "A loop that is open but did not answer `e`'s query: what can be read
  without its thread, and where that thread is."
  [^EventLoop lp ^Exception e]
  (let [t (.thread lp)]
    {:closed? false
     :running? (.isRunning lp)
     :responding? false
     :error (ex-message e)
     :thread (some-> t .getName)
     :turn-ms (quot (.turnNanos lp) 1000000)
     :stack (some->> t .getStackTrace (take 24) (mapv str))
     :stats (loop-stats (.stats lp))}))

(defn loop-info
  "The loop as data: running?, its fds (interest, tables, trigger), the
  connections on it (of any server or client), counters and utilization, read
  on its thread in one query that waits up to `timeout-ms`. A loop that
  closes meanwhile answers as closed; one that does not answer in time (a
  callback is blocking it) answers `:responding? false` with its `:turn-ms`,
  its thread's `:stack` and its counters."
  [^EventLoop lp timeout-ms]
  (let [closed {:closed? true :stats (loop-stats (.stats lp))}]
    (if (.isClosed lp)
      closed
      (try
        (let [{:keys [fds conns]} (.call lp (reify Supplier
                                              (get [_] {:fds (.fds lp) :conns (ConnectionInfo/on lp)}))
                                         (Duration/ofMillis timeout-ms))]
          {:closed? false
           :running? (.isRunning lp)
           :responding? true
           :thread (some-> (.thread lp) .getName)
           :fds (mapv fd-info fds)
           :connections (mapv connection conns)
           :stats (loop-stats (.stats lp))})
        (catch RejectedExecutionException _ closed)
        (catch IllegalStateException e
          (if (.isClosed lp) closed (stalled lp e)))))))

(defn utilization
  "Samples the loop for `ms` milliseconds: the share of the wall time it
  spent in callbacks rather than waiting (a turn still running counts, so a
  loop stuck in one callback reads 1.0), and turns and events per second."
  [^EventLoop lp ms]
  (let [^LoopStats a (.stats lp)
        t0 (System/nanoTime)
        _ (Thread/sleep (long ms))
        ^LoopStats b (.stats lp)
        wall (- (System/nanoTime) t0)
        per-sec (fn [x] (/ (* 1e9 x) wall))]
    {:utilization (-> (double (/ (- (.busyNanos b) (.busyNanos a)) wall)) (min 1.0) (max 0.0))
     :turns-per-sec (per-sec (- (.turns b) (.turns a)))
     :events-per-sec (per-sec (- (.events b) (.events a)))
     :interval-ms (quot wall 1000000)}))
