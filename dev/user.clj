(ns user
  "The REPL's system: the echo server (in `evloop.echo/server`, the same atom
  `dev/clj -M:echo` uses) and, from a plain REPL, an nREPL server, kept so
  that reloading namespaces never loses them.

      (start!)    ; echo on 127.0.0.1:6666, nREPL on 127.0.0.1:7888
      (stop!)     ; both, and .nrepl-port
      (restart!)
      (reset)     ; reload evloop namespaces, the server keeps running

  Both servers bind loopback only."
  (:require [evloop.core :as ev]
            [evloop.echo :as echo]))

(defonce ^{:doc "The nREPL server start! started, or nil."} nrepl
  (atom nil))

(defonce ^{:doc "The options start! was last given, for restart!."} options
  (atom {}))

(defn start!
  "Starts the echo server (unless one runs) and an nREPL server (unless
  `:nrepl-port` is nil, or one runs). Returns the echo server."
  ([] (start! {}))
  ([{:keys [nrepl-port] :or {nrepl-port 7888} :as opts}]
   (reset! options opts)
   (when-not (some-> @echo/server ev/server-status #{:running})
     ;; echo/start's own defaults (127.0.0.1:6666 unless :path): a Unix socket works too.
     (echo/start (dissoc opts :nrepl-port)))
   (when (and nrepl-port (not @nrepl))
     (reset! nrepl (echo/start-nrepl nrepl-port)))
   @echo/server))

(defn stop!
  "Stops what `start!` started, removing .nrepl-port; idempotent."
  []
  (when-let [s @echo/server]
    (echo/stop s))
  (when-let [r (first (reset-vals! nrepl nil))]
    (echo/stop-nrepl r))
  nil)

(defn restart!
  "Stops and starts again, with the options start! was last given."
  []
  (stop!)
  (start! @options))

(defn reset
  "Reloads the evloop namespaces, the impl namespaces they stand on included
  (evloop.core delegates most of its work there), and evloop.async and
  evloop.blocking when they are loaded. The running server keeps its
  connections: it holds the var #'evloop.echo/handle-line, which the reload
  redefines, evloop.echo/server is a defonce, and servers and channel
  connections are read through keys and interfaces that outlive a reload."
  []
  (let [loaded (set (map ns-name (all-ns)))]
    (doseq [ns-sym '[evloop.core evloop.echo evloop.chicken evloop.repl evloop.async evloop.blocking]
            :when (or (#{'evloop.core 'evloop.echo 'evloop.chicken 'evloop.repl} ns-sym) (loaded ns-sym))]
      (require ns-sym :reload-all)))
  :reloaded)
