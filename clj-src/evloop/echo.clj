(ns evloop.echo
  "The line echo server, built with evloop.core: read it as the tutorial.

  `handle-line` is the whole protocol. The server is started with the var
  `#'handle-line`, so re-evaluating the defn in a REPL changes what every
  open connection gets back from its next line on:

      (in-ns 'evloop.echo)
      (defn handle-line [conn line] (clojure.string/upper-case line))

  `-main` runs the server on 127.0.0.1:6666 with an nREPL server beside it
  (`dev/clj -M:echo`)."
  (:require [evloop.core :as ev]
            [clojure.java.io :as io]))

(set! *warn-on-reflection* true)

(defn handle-line
  "Echo: answers each line (newline included) with itself."
  [_conn line]
  line)

(defn start
  "Starts the echo server; `opts` as for `evloop.core/start-server`."
  [opts]
  (ev/start-server #'handle-line (merge {:host "127.0.0.1" :port 6666} opts)))

(defn stop
  "Stops a server `start` returned."
  [server]
  (ev/stop-server server))

(defn start-nrepl
  "Starts an nREPL server on 127.0.0.1 (`port` 0: any free port) and writes
  its port to .nrepl-port for editors to find."
  [port]
  (let [srv ((requiring-resolve 'nrepl.server/start-server) :bind "127.0.0.1" :port port)]
    (spit ".nrepl-port" (str (:port srv)))
    srv))

(defn- parse-args [args]
  (loop [opts {:host "127.0.0.1" :port 6666 :nrepl-port 7888} [a b & more :as args] args]
    (cond
      (empty? args) opts
      (= a "--host") (recur (assoc opts :host b) more)
      (= a "--port") (recur (assoc opts :port (parse-long b)) more)
      (= a "--nrepl-port") (recur (assoc opts :nrepl-port (parse-long b)) more)
      (= a "--no-nrepl") (recur (assoc opts :nrepl-port nil) (rest args))
      :else (do (binding [*out* *err*]
                  (println "usage: dev/clj -M:echo [--host H] [--port P] [--nrepl-port N | --no-nrepl]"))
                (System/exit 2)))))

(defn -main
  "Runs the echo server and an nREPL server until Ctrl-C or SIGTERM."
  [& args]
  (let [{:keys [host port nrepl-port]} (parse-args args)
        server (start {:host host :port port})
        repl (when nrepl-port (start-nrepl nrepl-port))]
    (println (str "evloop echo server listening on " host ":" (:port server)
                  "   (try: telnet " host " " (:port server) ")"))
    (when repl
      (println (str "nREPL server on 127.0.0.1:" (:port repl)
                    "   (connect: lein repl :connect 127.0.0.1:" (:port repl)
                    ", or CIDER/Calva with .nrepl-port)")))
    (.addShutdownHook (Runtime/getRuntime)
                      (Thread. ^Runnable (fn []
                                           (when repl
                                             ((requiring-resolve 'nrepl.server/stop-server) repl)
                                             (io/delete-file ".nrepl-port" true))
                                           (stop server))))
    (.join ^evloop.tcp.TcpServer (:tcp server))))
