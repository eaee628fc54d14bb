(ns evloop.async-echo
  "The line echo server on channels (evloop.async): evloop.echo's protocol
  with a go-loop per connection. `echo` is the whole protocol; the server is
  started with the var `#'echo`, so re-evaluating it changes what new
  connections run.

  `-main` runs it on 127.0.0.1:6666 with an nREPL server beside it, with
  evloop.echo's flags: `dev/clj -M:async-echo [--host H] [--port P | --unix
  PATH] [--nrepl-port N | --no-nrepl] [--idle-timeout D] [--read-timeout D]`."
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

(defonce ^{:doc "The server `-main` runs, in reach of its nREPL; nil when none runs."}
  server
  (atom nil))

(defn start
  "Starts the channel echo server (`opts` as for `evloop.core/start-server`,
  default 127.0.0.1:6666) and returns it."
  [opts]
  (ev/start-server (ev.async/handler #'echo)
                   (merge (when-not (:path opts) {:host "127.0.0.1" :port 6666}) opts)))

(def ^:private usage (cli/server-usage "async-echo"))

(defn -main
  "Runs the channel echo server, and an nREPL server beside it, until Ctrl-C
  or SIGTERM; `server` holds it meanwhile. The flags are evloop.echo's."
  [& args]
  (let [{:keys [host nrepl-port no-nrepl] :as opts}
        (cli/parse "evloop.async-echo" usage cli/server-flags {:host "127.0.0.1" :port 6666 :nrepl-port 7888} args)
        server-opts (cli/server-options "evloop.async-echo" args opts)
        _ (when-not no-nrepl (echo/check-nrepl! "evloop.async-echo"))
        s (echo/listen! "evloop.async-echo" start server-opts)
        path (:path server-opts)]
    (reset! server s)
    (.thenRun (.whenStopped ^evloop.tcp.TcpServer (:tcp s)) #(compare-and-set! server s nil))
    ;; The hook before the banner: whoever reads the banner may send SIGTERM at once.
    (.addShutdownHook (Runtime/getRuntime) (Thread. ^Runnable #(deref (ev/stop-server s))))
    (println (str "evloop channel echo server listening on " (if path (str "unix:" path) (str host ":" (:port s)))))
    (when-not no-nrepl
      (echo/serve-nrepl! "evloop.async-echo" nrepl-port))
    (.join ^evloop.tcp.TcpServer (:tcp s))))
