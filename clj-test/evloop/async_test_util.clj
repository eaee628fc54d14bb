(ns evloop.async-test-util
  "Helpers shared by evloop.async-test and evloop.async-close-test: takes with
  a deadline, numbered 1 KiB lines, one-write sends and handlers that hand
  over their connection. Needs core.async, as those namespaces do."
  (:require [clojure.core.async :as a])
  (:import (java.net Socket)))

(defn take!!
  "Takes from `ch`, or ::timeout after `ms`: no test waits without a deadline."
  [ch ms]
  (a/alt!! ch ([v] v) (a/timeout ms) ::timeout))

(def MiB (* 1024 1024))

(def ^:private ^String dots (apply str (repeat 1023 \.)))

(defn numbered-line
  "Line `i` of 1 KiB: its number, padding, a newline."
  ^String [i]
  (let [head (str i " ")]
    (str head (subs dots 0 (- 1023 (count head))) "\n")))

(defn write!
  "Writes `text` in one write (so that a loopback peer reads it in one read)."
  [^Socket s ^String text]
  (doto (.getOutputStream s) (.write (.getBytes text "UTF-8")) (.flush)))

(defn capture
  "A handler fn that hands each connection to `p`, then runs `(f conn in out)`."
  [p f]
  (fn [conn in out] (deliver p conn) (f conn in out)))
