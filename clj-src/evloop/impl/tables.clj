(ns evloop.impl.tables
  "What evloop.core puts in the loop for Clojure fns: the read and write
  tables' entries (FdHandler), which get an fd's events as a keyword set; the
  per-turn callback (TurnHandler), which gets the turn's pairs `[fd
  #{events}]` and, while it runs, can hand them on to the tables
  (`dispatch!`); and the trace of recent turns' pairs. An implementation
  detail of evloop.core."
  (:require [evloop.impl.data :as data])
  (:import (evloop EventLoop FdHandler Ready TurnHandler)
           (evloop.tools LoopControl)
           (java.util.function Consumer)))

(set! *warn-on-reflection* true)

(defn entry
  "The table entry that calls `(f fd events)`; nil for nil, which takes an
  fd's entry out."
  ^FdHandler [f]
  (when f
    (reify FdHandler
      (handle [_ fd events] (f fd (data/events events))))))

(def ^:dynamic ^:private *ready*
  "The pairs of the turn the per-turn callback is running for, for dispatch!."
  nil)

(defn turn-handler
  "The per-turn callback that calls `(f pairs)`; nil for nil, which restores
  the loop's default."
  ^TurnHandler [f]
  (when f
    (reify TurnHandler
      (onTurn [_ _ ready]
        (binding [*ready* ready]
          (f (mapv data/pair (.copy ready))))))))

(defn dispatch!
  "Hands the pairs of the turn being handled to `loop`'s tables; throws
  outside a per-turn callback."
  [^EventLoop loop]
  (when-not *ready*
    (throw (ex-info "dispatch! works only inside an on-turn! callback" {})))
  (.dispatch loop ^Ready *ready*))

(defn record-turns!
  "Records the pairs of `loop`'s last `n` turns and `tap>`s each turn as
  data; 0 stops."
  [^EventLoop loop n]
  (.recordTurns (LoopControl/of loop) (int n)
                (when (pos? n)
                  (reify Consumer
                    (accept [_ t] (tap> (data/turn t)))))))

(defn recent-turns
  "The turns recorded, oldest first, as data."
  [^EventLoop loop]
  (mapv data/turn (.recentTurns (LoopControl/of loop))))
