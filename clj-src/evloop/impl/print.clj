(ns evloop.impl.print
  "How evloop's values print at the REPL: short summaries in the #<...> form
  Clojure uses for what cannot be read back (no tagged literal is pretended),
  instead of #object[evloop.EventLoop 0x7429bd14 ...]. Loaded by evloop.core."
  (:require [evloop.impl.data :as data])
  (:import (evloop EventLoop LoopStats)
           (evloop.tcp Connection TcpClient TcpServer)
           (java.io Writer)))

(set! *warn-on-reflection* true)

(defn- plural [n word] (str n " " word (when-not (= 1 n) "s")))

(defn loop-summary
  "One line about a loop: state, thread, fds, turns."
  [^EventLoop lp]
  (let [^LoopStats s (.stats lp)]
    (str "EventLoop " (cond (.isClosed lp) "closed" (.isHeld lp) "paused" (.isRunning lp) "running" :else "idle")
         (when-let [t (.thread lp)] (str " on " (.getName t)))
         ", " (plural (.registered s) "fd") ", " (plural (.turns s) "turn"))))

(defmethod print-method EventLoop [^EventLoop lp ^Writer w]
  (.write w (str "#<" (loop-summary lp) ">")))

(defmethod print-method Connection [^Connection c ^Writer w]
  (.write w (str "#<Connection fd " (.fd c) (if (.isOutbound c) " to " " from ") (data/address (.peer c))
                 (if (.isOpen c) ", open" ", closed") ">")))

(defmethod print-method TcpServer [^TcpServer s ^Writer w]
  (.write w (str "#<TcpServer " (data/address (.address s)) ", " (.toLowerCase (str (.status s)))
                 ", " (plural (.active (.stats s)) "connection") ">")))

(defmethod print-method TcpClient [^TcpClient c ^Writer w]
  (.write w (str "#<TcpClient " (plural (.active (.stats c)) "connection") ">")))
