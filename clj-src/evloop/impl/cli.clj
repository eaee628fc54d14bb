(ns evloop.impl.cli
  "Command lines of evloop's mains (evloop.echo, evloop.async-echo,
  evloop.chicken): options parsed against a table, and every mistake answered
  with one line on stderr naming the option, the value and what is allowed,
  and exit status 2, with no stack trace."
  (:require [clojure.string :as str]))

(set! *warn-on-reflection* true)

(defn die!
  "Prints `msg` as one line on stderr and exits with status 2."
  [prog msg]
  (binding [*out* *err*]
    (println (str prog ": " msg)))
  (System/exit 2))

(defn- int-in [lo hi]
  (fn [flag s]
    (let [n (parse-long s)]
      (if (and n (<= lo n hi))
        n
        (throw (ex-info (str flag " must be a number from " lo " to " hi ", got " (pr-str s)) {}))))))

(def port
  "A port from 0 to 65535."
  (int-in 0 65535))

(defn duration-ms
  "A duration such as 300s, 500ms, 5m or 1h, in milliseconds, at most 24 days
  (2147483647 ms, what the options take)."
  [flag s]
  (let [[_ n unit] (re-matches #"(\d{1,12})(ms|s|m|h)" s)
        ms (when n (* (parse-long n) ({"ms" 1 "s" 1000 "m" 60000 "h" 3600000} unit)))]
    (cond
      (nil? ms) (throw (ex-info (str flag " must be a duration such as 300s, 500ms, 5m or 1h, got " (pr-str s)) {}))
      (> ms Integer/MAX_VALUE) (throw (ex-info (str flag " must be at most 24 days (2147483647 ms), got " (pr-str s)) {}))
      :else ms)))

(defn text
  "Any non-blank text."
  [flag s]
  (if (str/blank? s) (throw (ex-info (str flag " needs a value") {})) s))

(defn parse
  "Parses `args` against `spec`, a map of flag -> [key parse-fn] (parse-fn nil:
  a flag without value, which sets key to true). Returns the options map, or
  calls `die!` with a one-line message; --help prints `usage` and exits 0."
  [prog usage spec defaults args]
  (loop [opts defaults [a & more] args]
    (cond
      (nil? a) opts
      (= a "--help") (do (println usage) (System/exit 0))
      :else
      (let [[k f] (spec a)]
        (cond
          (nil? k) (die! prog (str "unknown option " (pr-str a) " (" usage ")"))
          (nil? f) (recur (assoc opts k true) more)
          (empty? more) (die! prog (str a " needs a value (" usage ")"))
          :else (recur (assoc opts k (try (f a (first more))
                                          (catch clojure.lang.ExceptionInfo e (die! prog (ex-message e)))))
                       (rest more)))))))

(defn server-usage
  "The usage line of an echo server's main, run as `dev/clj -M:<alias>`."
  [alias]
  (str "usage: dev/clj -M:" alias " [--host H] [--port P | --unix PATH] [--nrepl-port N | --no-nrepl]"
       " [--idle-timeout D] [--read-timeout D]"))

(def server-flags
  "The flags the echo servers' mains share (evloop.echo, evloop.async-echo)."
  {"--host" [:host text]
   "--port" [:port port]
   "--unix" [:path text]
   "--nrepl-port" [:nrepl-port port]
   "--no-nrepl" [:no-nrepl nil]
   "--idle-timeout" [:idle-timeout-ms duration-ms]
   "--read-timeout" [:read-timeout-ms duration-ms]})

(defn server-options
  "start-server's options from what `parse` made of `args` with
  `server-flags`: a Unix socket, or a host and port, and the timeouts. --unix
  beside --port or --host is refused (`die!`)."
  [prog args opts]
  (when (and (:path opts) (some #{"--port" "--host"} args))
    (die! prog "--unix serves a unix socket instead of TCP: use --port/--host or --unix, not both"))
  (select-keys opts (into (if (:path opts) [:path] [:host :port]) [:idle-timeout-ms :read-timeout-ms])))
