(ns evloop.repl-test
  (:require [clojure.string :as str]
            [clojure.test :refer [deftest is testing]]
            [evloop.blocking :as blocking]
            [evloop.core :as ev]
            [evloop.test-util :refer [connect reader send-line]]
            [evloop.echo :as echo]
            [evloop.repl :as repl])
  (:import (evloop.sys Descriptors Native)))

(deftest pause-step-resume-on-a-live-echo-server
  (with-open [server (echo/start {:port 0})
              s (connect (:port server))]
    (let [loop (ev/server-loop server)
          r (reader s)]
      (send-line s "warm")
      (is (= "warm" (.readLine r)))
      (repl/pause! loop)
      (send-line s "held")
      (testing "while paused the loop answers but does not echo"
        (dotimes [_ 5] (is (= 1 (get-in (ev/server-info server) [:stats :frames-in])))))
      (let [fd (:fd (first (ev/connections server)))]
        (is (= [[fd #{:in}]] (repl/step! loop 1000)) "one step returns the pair as data"))
      (is (= "held" (.readLine r)) "and handles it")
      (repl/resume! loop)
      (send-line s "free")
      (is (= "free" (.readLine r))))))

(deftest inject-hands-synthetic-pairs-to-the-tables
  (with-open [loop (ev/open-loop)]
    (let [[rd wr] (.pipe (Descriptors/get))
          seen (atom [])]
      (ev/on-readable! loop rd (fn [fd events] (swap! seen conj [fd events])))
      (repl/inject! loop [[rd #{:in :hup}]])
      (is (= [[rd #{:in :hup}]] @seen))
      (.close (Native/get) (int rd))
      (.close (Native/get) (int wr)))))

(deftest recorded-frames-replay-through-a-handler-without-sockets
  (with-open [server (echo/start {:port 0})
              s (connect (:port server))]
    (let [r (reader s)]
      (repl/record-frames! server true)
      (send-line s "alpha")
      (send-line s "beta")
      (is (= "alpha" (.readLine r)))
      (is (= "beta" (.readLine r)))
      (let [frames (repl/recent-frames server)]
        (is (= ["alpha\n" "beta\n"] (mapv :line frames)))
        (is (= ["ALPHA\n" "BETA\n"]
               (repl/replay! (fn [_ line] (str/upper-case line)) frames)))
        (is (= ["> alpha\n" "> beta\n"]
               (repl/replay! {:on-line (fn [conn line] (ev/send! conn (str "> " line)) nil)} frames))
            "send! on the stub is captured too")
        (is (= ["alpha\n"] (repl/replay! (fn [_ line] (.getBytes ^String line "UTF-8")) (take 1 frames)))
            "returned bytes come back as text, like sent ones")))))

(deftest blocking-sessions-read-like-a-threaded-server
  (if-not (blocking/available?)
    (is (thrown? UnsupportedOperationException (blocking/handler (fn [_]))))
    (with-open [server (ev/start-server (blocking/handler
                                         (fn [ch]
                                           (loop []
                                             (when-let [line (blocking/read-line! ch)]
                                               (blocking/write! ch (str "you said " line))
                                               (recur)))))
                                        {:port 0})
                s (connect (:port server))]
      (let [r (reader s)]
        (send-line s "hi")
        (is (= "you said hi" (.readLine r)))))))

(deftest utilization-rises-under-load-and-falls-idle
  (with-open [server (echo/start {:port 0})
              s (connect (:port server))]
    (let [lp (ev/server-loop server)
          r (reader s)
          idle (:utilization (ev/utilization lp {:ms 300}))
          load (future (let [out (.getOutputStream s)]
                         (dotimes [i 20000]
                           (.write out (.getBytes (str "line " i "\n")))
                           (.readLine r))))
          busy (:utilization (ev/utilization lp {:ms 300}))]
      @load
      (is (< idle busy) (str "busy " busy " > idle " idle))
      (is (<= 0.0 idle busy 1.0))
      (is (< idle 0.2) "near 0 idle")
      (is (contains? (get-in (ev/loop-info lp) [:stats]) :utilization)))))

(deftest utilization-counts-a-turn-still-running
  ;; A loop stuck in one callback must read busy, not idle: the turn that has
  ;; not ended yet counts.
  (with-open [lp (ev/start-loop! (ev/open-loop))]
    (let [entered (promise)
          release (promise)]
      (ev/execute! lp #(do (deliver entered true) (deref release 30000 nil)))
      (try
        (is (true? (deref entered 5000 :timeout)))
        (let [u (:utilization (ev/utilization lp {:ms 300}))]
          (is (< 0.9 u) (str "a loop blocked in a callback for the whole sample reads ~1.0, got " u)))
        (is (<= 300000000 (.busyNanos (.stats ^evloop.EventLoop lp)))
            "the counters since the loop opened count it too")
        (finally (deliver release true))))))

(deftest a-stuck-loop-says-it-is-stuck-not-closed
  (let [entered (promise)
        release (promise)]
    (with-open [server (ev/start-server (fn [_ line] (deliver entered true) (deref release 30000 nil) line) {:port 0})
                s (connect (:port server))]
      (try
        (send-line s "block")
        (is (true? (deref entered 5000 :timeout)))
        (let [info (ev/loop-info (ev/server-loop server) {:timeout-ms 200})]
          (is (= {:closed? false :running? true :responding? false}
                 (select-keys info [:closed? :running? :responding?])))
          (is (re-find #"did not answer within 200 ms" (:error info)))
          (is (some #(re-find #"repl_test" %) (:stack info)) "the stack shows the handler that blocks")
          (is (<= 0 (:turn-ms info)))
          (is (< 0.9 (get-in info [:stats :utilization]) 1.01) "its counters are there too"))
        (let [info (ev/server-info server {:timeout-ms 200})]
          (is (= {:status :running :responding? false :connections nil}
                 (select-keys info [:status :responding? :connections])))
          (is (false? (get-in info [:loop :responding?])))
          (is (= 1 (get-in info [:stats :active]))))
        (is (= :timeout-ms (:key (ex-data (try (ev/loop-info (ev/server-loop server) {:timeout-ms 0}) nil
                                               (catch clojure.lang.ExceptionInfo e e))))))
        (finally (deliver release true)))
      (is (= "block" (.readLine (reader s))))
      (is (true? (:responding? (ev/server-info server))) "answers again once the handler returns"))))

(deftest recorded-frames-keep-only-the-last-n
  (with-open [server (ev/start-server (fn [_ line] line) {:port 0})
              s (connect (:port server))]
    (let [r (reader s)]
      (repl/record-frames! server true 3)
      (dotimes [i 50]
        (send-line s (str "l" i))
        (.readLine r))
      (is (= ["l47\n" "l48\n" "l49\n"] (mapv :line (repl/recent-frames server))))
      (is (vector? (repl/recent-frames server)))
      (let [log @(:frame-log server)
            ;; A subvec keeps its whole source vector alive: count what is held.
            held (if (instance? clojure.lang.APersistentVector$SubVector log)
                   (count (.v ^clojure.lang.APersistentVector$SubVector log))
                   (count log))]
        (is (<= held 3) (str "the log holds " held " frames for a ring of 3")))
      (is (= :n (:key (ex-data (try (repl/record-frames! server true 0) nil
                                    (catch clojure.lang.ExceptionInfo e e)))))))))
