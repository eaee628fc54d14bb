(ns evloop.async.dispatch
  "Opt-in: go blocks resume on the evloop loop whose thread woke them, the way
  Netty and Vert.x run handlers on their event loop. Enable it for the whole
  JVM, before the first go block runs, with core.async's own switch:

      -Dclojure.core.async.executor-factory=evloop.async.dispatch/executor-factory

  Why: by default a go block resumes on core.async's dispatch pool, so each
  batch of frames crosses threads twice (loop -> pool -> loop, the second
  through the loop's eventfd). On a machine with few cores those wake-ups
  cost more than the echo itself (README, Performance). With this, a go block
  that a loop woke (by putting a frame on its `in`, or taking from its full
  `out`) runs on that loop, in the same turn, and its replies are sent
  without a wake-up.

  The price is Netty's: such go blocks share the loop thread with the
  connections on it, so long computations in them delay I/O; keep them short,
  or move the work to `thread`/`io-thread`. (Blocking in a go block is wrong
  either way.) Go blocks woken anywhere else run where core.async runs them by
  default, and `thread`/`io-thread` are not affected. A loop runs at most 1024
  tasks per turn before it polls its sockets again, so go blocks waking each
  other on a loop cannot starve it.

  This namespace requires nothing but evloop's Java core, so core.async can
  load it safely when it first dispatches."
  (:import (evloop EventLoop)
           (java.util.concurrent Executor RejectedExecutionException)))

(set! *warn-on-reflection* true)

(def ^:private fallback
  "core.async's own default for go blocks (its :mixed pool in 1.9), looked up
  on first use: `executor-factory` runs inside core.async's executor lookup."
  (delay ((requiring-resolve 'clojure.core.async.impl.dispatch/executor-for) :mixed)))

(defn- queued?
  "Queues `task` on `lp`; false if `lp` refuses it (closed). A fn of its own:
  a try inside an expression is compiled as a closure, made on every call."
  [^EventLoop lp ^Runnable task]
  (try (.execute lp task)
       true
       (catch RejectedExecutionException _ false)))

(def executor
  "Runs a task on the loop of the calling thread when it is an evloop loop
  thread (that is not closed), and on core.async's default pool otherwise."
  (reify Executor
    (execute [_ task]
      (let [lp (EventLoop/current)]
        (when-not (and lp (queued? lp task))
          (.execute ^Executor @fallback task))))))

(defn executor-factory
  "The value of the `clojure.core.async.executor-factory` property: `executor`
  for go blocks (workload :core-async-dispatch), core.async's defaults for the
  rest (nil)."
  [workload]
  (when (identical? workload :core-async-dispatch)
    executor))
