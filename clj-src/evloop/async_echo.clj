(ns evloop.async-echo
  "The line echo server on channels (evloop.async): evloop.echo's protocol
  with a go-loop per connection. `echo` is the whole protocol; the server is
  started with the var `#'echo`, so re-evaluating it changes what new
  connections run.

  `-main` runs it on 127.0.0.1:6666 with an nREPL server beside it:
  `dev/clj -M:async-echo [--host H] [--port P] [--nrepl-port N | --no-nrepl]`."
  (:require [clojure.core.async :as a :refer [<! >! go-loop]]
            [evloop.async :as ev.async]
            [evloop.core :as ev]
            [evloop.echo :as echo]
            [evloop.impl.cli :as cli]))

(set! *warn-on-reflection* true)

(defn echo
  "Sends every line back, in order; the go-loop ends at EOF, and with it the
  connection."
  [_conn in out]
  (go-loop []
    (when-let [line (<! in)]
      (>! out line)
      (recur))))

(defn start
  "Starts the channel echo server (`opts` as for `evloop.core/start-server`,
  default 127.0.0.1:6666) and returns it."
  [opts]
  (ev/start-server (ev.async/handler #'echo) (merge {:host "127.0.0.1" :port 6666} opts)))

(def ^:private usage
  "usage: dev/clj -M:async-echo [--host H] [--port P] [--nrepl-port N | --no-nrepl]")

(def ^:private flags
  {"--host" [:host cli/text]
   "--port" [:port cli/port]
   "--nrepl-port" [:nrepl-port cli/port]
   "--no-nrepl" [:no-nrepl nil]})

(defn -main
  "Runs the channel echo server, and an nREPL server beside it, until Ctrl-C or SIGTERM."
  [& args]
  (let [{:keys [host port nrepl-port no-nrepl]}
        (cli/parse "evloop.async-echo" usage flags {:host "127.0.0.1" :port 6666 :nrepl-port 7888} args)
        _ (when-not no-nrepl (echo/check-nrepl! "evloop.async-echo"))
        s (try (start {:host host :port port})
               (catch Exception e
                 (cli/die! "evloop.async-echo" (str "cannot listen on " host ":" port ": " (ex-message e)))))]
    (println (str "evloop channel echo server listening on " host ":" (:port s)))
    (.addShutdownHook (Runtime/getRuntime) (Thread. ^Runnable #(deref (ev/stop-server s))))
    (when-not no-nrepl
      (echo/serve-nrepl! "evloop.async-echo" nrepl-port))
    (.join ^evloop.tcp.TcpServer (:tcp s))))
