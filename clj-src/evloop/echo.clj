(ns evloop.echo
  "The line echo server, built with evloop.core: read it as the tutorial.

  `handle-line` is the whole protocol. The server is started with the var
  `#'handle-line`, so re-evaluating the defn in a REPL changes what every
  open connection gets back from its next line on:

      (in-ns 'evloop.echo)
      (defn handle-line [conn line] (clojure.string/upper-case line))

  `server` holds the echo server that is running (nil when none is), so a
  REPL connected to `dev/clj -M:echo` reaches the very server its telnet
  talks to: `(evloop.core/server-info @evloop.echo/server)`.

  `-main` runs the server on 127.0.0.1:6666 (or a Unix socket) and then an
  nREPL server beside it: `dev/clj -M:echo --help`."
  (:require [clojure.java.io :as io]
            [evloop.core :as ev]
            [evloop.impl.cli :as cli]
            [evloop.impl.options :as options]))

(set! *warn-on-reflection* true)

(defonce ^{:doc "The running echo server (what `start` or `-main` started), nil when none
  runs. A defonce, so reloading this namespace keeps it."}
  server
  (atom nil))

(defn handle-line
  "Echo: answers each line (newline included) with itself."
  [_conn line]
  line)

(defn start
  "Starts the echo server (`opts` as for `evloop.core/start-server`; default
  127.0.0.1:6666), makes it `@server`, and returns it. When it stops, however
  it is stopped, `server` goes back to nil. While one runs, starting another
  is refused: `(stop @server)` first."
  ([] (start {}))
  ([opts]
   (options/arg! "evloop.echo/start" :opts opts [#(or (nil? %) (map? %)) "an options map, such as {:port 0}"])
   (when-let [running @server]
     (when (= :running (ev/server-status running))
       (throw (ex-info (str "an echo server already runs (" (:address (ev/server-info running))
                            "): (evloop.echo/stop @evloop.echo/server) first")
                       {:key :server :value running}))))
   (let [s (ev/start-server #'handle-line (merge (when-not (:path opts) {:host "127.0.0.1" :port 6666}) opts))]
     (reset! server s)
     (.thenRun (.whenStopped ^evloop.tcp.TcpServer (:tcp s)) #(compare-and-set! server s nil))
     s)))

(defn stop
  "Stops a server `start` returned and waits until it has released everything;
  `server` is nil by then."
  [s]
  (let [r @(ev/stop-server s)]
    ;; start's thenRun clears it too, but a CompletableFuture runs its dependents
    ;; last-registered first: the deref above can return before that ran.
    (compare-and-set! server s nil)
    r))

(defn nrepl-on-classpath?
  "True when nREPL can be loaded, found without loading it (which takes
  seconds)."
  []
  (some? (or (io/resource "nrepl/server.clj") (io/resource "nrepl/server__init.class"))))

(defn start-nrepl
  "Starts an nREPL server on 127.0.0.1 (`port` 0: any free port) and writes
  its port to .nrepl-port for editors to find. nREPL is loaded here, only
  when asked for: evloop does not depend on it."
  [port]
  (options/arg! "start-nrepl" :port port (options/int-option 0 65535))
  (let [srv ((requiring-resolve 'nrepl.server/start-server) :bind "127.0.0.1" :port port)]
    (spit ".nrepl-port" (str (:port srv)))
    srv))

(defn stop-nrepl
  "Stops an nREPL server `start-nrepl` returned and removes .nrepl-port, if
  the file still names its port (another nREPL may have written it since)."
  [srv]
  (options/arg! "stop-nrepl" :server srv [#(and (map? %) (integer? (:port %))) "an nREPL server, as start-nrepl returns it"])
  ((requiring-resolve 'nrepl.server/stop-server) srv)
  (let [f (io/file ".nrepl-port")]
    (when (and (.exists f) (= (str (:port srv)) (.trim ^String (slurp f))))
      (io/delete-file f true))))

(defn- busy? [^Throwable e]
  (boolean (re-find #"EADDRINUSE|Address already in use" (str (ex-message e) (some-> e .getCause .getMessage)))))

(defn listen!
  "For a main (`prog`): `(start server-opts)`, or, when it fails, exit with one
  line on stderr naming the address, status 2 (a busy port suggests another)."
  [prog start {:keys [host port path] :as server-opts}]
  (try (start server-opts)
       (catch Exception e
         (cli/die! prog (str "cannot listen on " (or path (str host ":" port)) ": " (ex-message e)
                             (when (busy? e) "; choose another with --port, or --unix PATH"))))))

(defn check-nrepl!
  "For a main (`prog`: evloop.echo, evloop.chicken, evloop.async-echo) about to serve nREPL:
  unless nREPL is on the classpath, exits with one line on stderr, status 2,
  before anything has started."
  [prog]
  (when-not (nrepl-on-classpath?)
    (cli/die! prog "nREPL is not on the classpath: add nrepl/nrepl (the deps.edn alias of this main has it), or run with --no-nrepl")))

(defn serve-nrepl!
  "For a main (`prog`) whose own server runs: starts nREPL beside it on
  127.0.0.1:`port` (`start-nrepl`), prints where, and stops it at shutdown.
  A port it cannot take exits with one line on stderr, status 2. Returns the
  nREPL server."
  [prog port]
  (let [repl (try (start-nrepl port)
                  (catch Exception e
                    (cli/die! prog (str "cannot start nREPL on 127.0.0.1:" port ": "
                                        (or (some-> e .getCause ex-message) (ex-message e))
                                        (when (busy? e) "; choose another with --nrepl-port, or --no-nrepl")))))]
    ;; The hook before the line: whoever reads it may send SIGTERM at once.
    (.addShutdownHook (Runtime/getRuntime) (Thread. ^Runnable #(stop-nrepl repl)))
    (println (str "nREPL server on 127.0.0.1:" (:port repl)
                  "   (connect: lein repl :connect 127.0.0.1:" (:port repl) ", or CIDER/Calva with .nrepl-port)"))
    repl))

(def ^:private usage (cli/server-usage "echo"))

(defn- keep-alive
  "Returns once no echo server runs and none can start again. With nREPL a
  REPL user may stop the server and start another (`start`), so it waits for
  that; without nREPL it returns when the server stops."
  [repl?]
  (loop []
    (if-let [s @server]
      (do (.join ^evloop.tcp.TcpServer (:tcp s))
          (compare-and-set! server s nil)
          (recur))
      (when repl?
        (let [started (promise)]
          (add-watch server ::keep-alive (fn [_ _ _ new] (when new (deliver started true))))
          (try (when (nil? @server) @started)
               (finally (remove-watch server ::keep-alive)))
          (recur))))))

(defn -main
  "Runs the echo server, then an nREPL server beside it, until Ctrl-C or
  SIGTERM, which stop whichever echo server `server` holds then (one
  restarted from the REPL too). The process lives while an echo server runs,
  and with nREPL as long as nREPL does."
  [& args]
  (let [{:keys [host nrepl-port no-nrepl] :as opts}
        (cli/parse "evloop.echo" usage cli/server-flags {:host "127.0.0.1" :port 6666 :nrepl-port 7888} args)
        server-opts (cli/server-options "evloop.echo" args opts)
        _ (when-not no-nrepl (check-nrepl! "evloop.echo"))
        s (listen! "evloop.echo" start server-opts)
        path (:path server-opts)]
    ;; The hook before the banner: whoever reads the banner may send SIGTERM at once.
    (.addShutdownHook (Runtime/getRuntime) (Thread. ^Runnable #(when-let [s @server] (stop s))))
    (println (str "evloop echo server listening on " (if path (str "unix:" path) (str host ":" (:port s)))
                  (when-not path (str "   (try: telnet " host " " (:port s) ")"))))
    (when-not no-nrepl
      (serve-nrepl! "evloop.echo" nrepl-port))
    (keep-alive (not no-nrepl))))
