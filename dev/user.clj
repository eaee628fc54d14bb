(ns user
  "The REPL's system: one echo server (and, from a plain REPL, an nREPL
  server), kept in a defonce so reloading namespaces never loses it.

      (start!)    ; echo on 127.0.0.1:6666, nREPL on 127.0.0.1:7888
      (stop!)
      (restart!)
      (reset)     ; reload evloop namespaces, server keeps running

  Both servers bind loopback only."
  (:require [evloop.core :as ev]
            [evloop.echo :as echo]))

(defonce ^{:doc "{:echo server :nrepl server-or-nil}, or nil when stopped."} system
  (atom nil))

(defn start!
  "Starts the echo server (and an nREPL server unless `:nrepl-port` is nil)."
  ([] (start! {}))
  ([{:keys [port nrepl-port] :or {port 6666 nrepl-port 7888}}]
   (swap! system
          (fn [s]
            (or s {:echo (echo/start {:port port})
                   :nrepl (when nrepl-port (echo/start-nrepl nrepl-port))})))))

(defn stop!
  "Stops what `start!` started; idempotent."
  []
  (let [[{:keys [echo nrepl]}] (reset-vals! system nil)]
    (when echo (echo/stop echo))
    (when nrepl ((requiring-resolve 'nrepl.server/stop-server) nrepl))
    nil))

(defn restart!
  "Stops and starts again."
  []
  (stop!)
  (start!))

(defn reset
  "Reloads the evloop namespaces. The running server keeps its connections:
  it holds the var #'evloop.echo/handle-line, which the reload redefines."
  []
  (doseq [ns-sym '[evloop.core evloop.echo]]
    (require ns-sym :reload))
  :reloaded)
