(ns evloop.impl.options
  "The options of start-server and connect!: what each accepts, checked
  before anything starts, and their translation to the Java configs. A bad
  value or an unknown key is one ex-info whose message names the key, the
  value and what is allowed, and whose data holds :key, :value and :allowed.
  An implementation detail of evloop.core."
  (:require [clojure.string :as str]
            [evloop.impl.enums :as enums]
            [evloop.impl.handler :as handler])
  (:import (evloop EventLoop)
           (evloop.tcp ClientConfig Connection ConnectionConfig ServerConfig TcpServer$Balance)
           (java.nio.charset Charset)
           (java.time Duration)))

(set! *warn-on-reflection* true)

(defn- int-in [lo hi]
  [#(and (integer? %) (<= lo % hi)) (str "an integer from " lo " to " hi)])

(defn- one-of [xs]
  [(set xs) (str "one of " (str/join ", " (sort xs)))])

(def ^:private non-blank
  [#(and (string? %) (not (str/blank? %))) "a non-blank string"])

(defn- unix-path-bytes
  "Bytes of a unix socket name as sun_path holds it (without an abstract name's @)."
  [^String p]
  (let [^String name (if (.startsWith p "@") (subs p 1) p)]
    (alength (.getBytes name "UTF-8"))))

(def ^:private unix-path
  [#(and (string? %) (not= "@" %) (<= 1 (unix-path-bytes %) 107))
   "a unix socket path of 1 to 107 bytes, or \"@name\" for an abstract one"])

(def ^:private open-loop?
  [#(and (instance? EventLoop %) (not (.isClosed ^EventLoop %))) "an evloop.EventLoop that is not closed"])

(def ^:private charset
  [#(and (string? %) (try (Charset/forName %) true (catch Exception _ false)))
   "the name of a charset this JVM supports, such as \"UTF-8\""])

(def ^:private connection-options
  {:max-line (int-in 1 (* 64 1024 1024))
   :format (one-of #{:string :bytes :buffer})
   :charset charset
   :low-watermark (int-in 0 Long/MAX_VALUE)
   :high-watermark (int-in 0 Long/MAX_VALUE)
   :close-timeout-ms (int-in 0 Integer/MAX_VALUE)
   :idle-timeout-ms (int-in 0 Integer/MAX_VALUE)
   :read-timeout-ms (int-in 0 Integer/MAX_VALUE)
   :write-timeout-ms (int-in 0 Integer/MAX_VALUE)
   :no-delay [boolean? "true or false"]
   :loop open-loop?
   :host non-blank
   :path unix-path})

(def ^:private server-options
  (merge connection-options
         {:port (int-in 0 65535)
          :file-mode (int-in 0 0777)
          :loops (int-in 1 1024)
          :balance (one-of #{:least-loaded :reuse-port})
          :max-clients (int-in 1 Integer/MAX_VALUE)
          :backlog (int-in 1 Integer/MAX_VALUE)}))

(def ^:private client-options
  (merge connection-options
         {:port (int-in 1 65535)
          :local-host [#(and (string? %) (re-matches #"[0-9.]+|\[?[0-9a-fA-F:.]+\]?" %))
                       "an IPv4 or IPv6 address literal"]
          :local-port (int-in 0 65535)
          :connect-timeout-ms (int-in 1 Integer/MAX_VALUE)}))

(defn bad
  "The ex-info for a bad `value` of option `k` in `f`."
  [f k value allowed]
  (ex-info (str f ": " k " must be " allowed ", got " (pr-str value))
           {:key k :value value :allowed allowed}))

(defn- check [f table opts]
  (when-not (or (nil? opts) (map? opts))
    (throw (ex-info (str f ": options must be a map, got " (pr-str opts)) {:key nil :value opts})))
  (doseq [[k v] opts]
    (if-let [[ok? allowed] (table k)]
      (when-not (ok? v)
        (throw (bad f k v allowed)))
      (throw (ex-info (str f ": unknown option " (pr-str k) "; known options are "
                          (str/join " " (sort (keys table))))
                      {:key k :value v :known (set (keys table))}))))
  (let [{:keys [low-watermark high-watermark] :or {low-watermark (* 256 1024) high-watermark (* 1024 1024)}} opts]
    (when (> low-watermark high-watermark)
      (throw (if (contains? opts :low-watermark)
               (bad f :low-watermark low-watermark (str "at most :high-watermark (" high-watermark ")"))
               (bad f :high-watermark high-watermark (str "at least :low-watermark (" low-watermark ")"))))))
  opts)

(defn- exclusive!
  "Refuses options that mean nothing together (one would be silently ignored)."
  [f opts pairs]
  (doseq [[a b why] pairs]
    (when (and (contains? opts a) (contains? opts b))
      (throw (ex-info (str f ": " a " and " b " cannot go together: " why)
                      {:key b :value (opts b) :conflicts-with a})))))

(defn- requires!
  [f opts pairs]
  (doseq [[a b] pairs]
    (when (and (contains? opts a) (not (contains? opts b)))
      (throw (ex-info (str f ": " a " needs " b) {:key a :value (opts a) :requires b})))))

(defn check-server
  "Checks start-server's options; returns them."
  [opts]
  (check "start-server" server-options opts)
  (exclusive! "start-server" opts [[:path :port "a unix socket server has no port"]
                                   [:path :host "a unix socket server has no host"]
                                   [:loop :loops "with :loop the server runs on that one loop"]
                                   [:path :balance "a unix socket server balances :least-loaded only"]])
  (requires! "start-server" opts [[:file-mode :path] [:balance :loops]])
  opts)

(defn check-client
  "Checks connect!'s options; returns them. A port or a :path is required."
  [opts]
  (check "connect!" client-options opts)
  (exclusive! "connect!" opts [[:path :port "a unix socket has no port"]
                               [:path :host "a unix socket has no host"]
                               [:path :local-host "a unix socket connect binds no local address"]
                               [:path :local-port "a unix socket connect binds no local port"]])
  (when-not (or (:port opts) (:path opts))
    (throw (ex-info "connect!: needs :port (with :host, default \"127.0.0.1\") or :path (a unix socket)"
                    {:key :port :value nil :allowed "an integer from 1 to 65535"})))
  opts)

(defn arg!
  "Returns `v`, argument `k` of fn `f`, when `spec` ([ok? allowed]) accepts
  it; otherwise throws the ex-info `bad` builds (data :key k)."
  [f k v [ok? allowed]]
  (if (ok? v) v (throw (bad f k v allowed))))

(def loop-arg
  "A loop argument: an EventLoop, open or closed (a closed one answers for itself)."
  [#(instance? EventLoop %) "an evloop.EventLoop (open-loop, or server-loop of a server)"])

(defn loop!
  "Returns `loop`, checked as `loop-arg` for fn `f`."
  ^EventLoop [f loop]
  (arg! f :loop loop loop-arg))

(def fd-arg
  "An fd argument."
  (int-in 0 Integer/MAX_VALUE))

(defn fd!
  "Returns `fd`, checked as `fd-arg` for fn `f`."
  [f fd]
  (arg! f :fd fd fd-arg))

(def wait-ms-arg
  "How long a turn may wait, in ms: -1 until something happens."
  (int-in -1 Integer/MAX_VALUE))

(def task-arg
  "A task a loop runs: anything meant to be called with no arguments."
  [#(or (handler/callable? %) (and (instance? Runnable %) (not (ifn? %))))
   "a fn of no arguments, a var holding one, or a java.lang.Runnable"])

(def table-entry-arg
  "A read- or write-table entry; nil takes it out."
  [#(or (nil? %) (handler/callable? %)) "a fn of [fd events], a var holding one, or nil to take the entry out"])

(def turn-handler-arg
  "A per-turn callback; nil restores the default."
  [#(or (nil? %) (handler/callable? %)) "a fn of [pairs], a var holding one, or nil for the default"])

(def connection-arg
  "A connection argument."
  [#(instance? Connection %) "a connection (evloop.tcp.Connection)"])

(defn check-map
  "Checks a small options map `opts` of fn `f` against `table` (key -> [ok? allowed])."
  [f table opts]
  (check f table opts))

(defn int-option
  "An [ok? allowed] pair for integers from `lo` to `hi`."
  [lo hi]
  (int-in lo hi))

(def loop-options
  "The options of open-loop."
  {:max-events (int-in 1 65536)})

(def trigger-modes
  "The trigger modes set-trigger! takes."
  (one-of [:level :edge :oneshot :edge-oneshot]))

(def info-options
  "The options of loop-info and server-info."
  {:timeout-ms (int-in 1 Integer/MAX_VALUE)})

(defn- ms ^Duration [n] (Duration/ofMillis (long n)))

(def ^:private timeout-keys [:idle-timeout-ms :read-timeout-ms :write-timeout-ms])

(defn timeouts
  "Checks set-timeouts!'s map, the connection options of that name; returns
  its idle, read and write timeouts as Durations, nil for a key left out."
  [opts]
  (check "set-timeouts!" (select-keys connection-options timeout-keys) opts)
  (mapv #(some-> (get opts %) ms) timeout-keys))

(defn- connection-config!
  "Sets what servers and clients share on `cfg` from `opts`."
  [^ConnectionConfig cfg {:keys [max-line low-watermark high-watermark close-timeout-ms no-delay
                                 idle-timeout-ms read-timeout-ms write-timeout-ms]
                          :or {max-line 65536 low-watermark (* 256 1024) high-watermark (* 1024 1024)
                               close-timeout-ms 5000 no-delay true
                               idle-timeout-ms 0 read-timeout-ms 0 write-timeout-ms 0}}]
  (doto cfg
    (.maxLineLength (int max-line))
    (.watermarks (long low-watermark) (long high-watermark))
    (.closeTimeout (ms close-timeout-ms))
    (.noDelay (boolean no-delay))
    (.idleTimeout (ms idle-timeout-ms))
    (.readTimeout (ms read-timeout-ms))
    (.writeTimeout (ms write-timeout-ms))))

(defn server-config
  "The ServerConfig for start-server's (checked) options."
  ^ServerConfig [{:keys [host port path file-mode loops balance max-clients backlog]
                  :or {host "127.0.0.1" port 6666 loops 1 balance :least-loaded} :as opts}]
  (let [^ServerConfig cfg (connection-config! (ServerConfig.) opts)]
    (cond-> (doto cfg
              (.host host) (.port (int port)) (.loops (int loops))
              (.balance ^TcpServer$Balance (enums/->enum TcpServer$Balance balance)))
      path (.unixPath path)
      file-mode (.unixFileMode (int file-mode))
      max-clients (.maxClients (int max-clients))
      backlog (.backlog (int backlog)))))

(defn client-config
  "The ClientConfig for connect!'s (checked) options."
  ^ClientConfig [{:keys [host port path local-host local-port connect-timeout-ms]
                  :or {host "127.0.0.1" connect-timeout-ms 10000} :as opts}]
  (let [^ClientConfig cfg (connection-config! (ClientConfig.) opts)]
    (cond-> (doto cfg (.host host) (.connectTimeout (ms connect-timeout-ms)))
      port (.port (int port))
      path (.unixPath path)
      ;; A :local-port alone binds the wildcard address with that port.
      (or local-host local-port) (.localAddress ^String local-host (int (or local-port 0))))))
