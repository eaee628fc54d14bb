(ns evloop.async-close-test
  "evloop.async over real sockets, how connections end: the peer's EOF and
  reset, a server stop, a throwing handler, `out` closed by the application,
  closing from the application's side and a closing loop, and no leaks over
  1000 connect/close cycles. core.async is not a dependency of evloop: the
  runner skips this namespace without it."
  {:evloop.test/requires ["clojure.core.async"]}
  (:require [clojure.core.async :as a :refer [<! >! go go-loop]]
            [clojure.test :refer [deftest is testing]]
            [evloop.async :as ev.async]
            [evloop.async-echo :as async-echo]
            [evloop.async-test-util :refer [MiB capture numbered-line take!! write!]]
            [evloop.core :as ev]
            [evloop.impl.async :as impl]
            [evloop.test-util :refer [connect reader send-line wait-until]])
  (:import (evloop EventLoop)
           (java.lang.management ManagementFactory ThreadInfo)
           (java.net InetSocketAddress Socket)))

(deftest peer-eof-closes-in-after-the-last-frame
  (testing "with a returned go block, answers after EOF are still sent"
    (let [conn-p (promise)
          seen (a/chan 10)
          h (capture conn-p (fn [_ in out]
                              (go-loop []
                                (let [l (<! in)]
                                  (>! seen (or l :closed))
                                  (when l
                                    (<! (a/timeout 20))          ; answers come later than EOF
                                    (>! out (str "re " l))
                                    (recur))))))]
      (with-open [server (ev/start-server (ev.async/handler h) {:port 0})
                  s (connect (:port server))]
        (send-line s "a")
        (send-line s "b")
        (.shutdownOutput s)
        (let [r (reader s)]
          (is (= ["re a" "re b" nil] [(.readLine r) (.readLine r) (.readLine r)])))
        (is (= ["a\n" "b\n" :closed] (repeatedly 3 #(take!! seen 5000))))
        (is (= :peer-closed (take!! (ev.async/closed @conn-p) 5000))))))
  (testing "without one, EOF closes out: what was put before still goes"
    (let [conn-p (promise)
          h (capture conn-p (fn [_ _ out] (a/offer! out "bye\n") nil))]
      (with-open [server (ev/start-server (ev.async/handler h) {:port 0})
                  s (connect (:port server))]
        (.shutdownOutput s)
        (let [r (reader s)]
          (is (= ["bye" nil] [(.readLine r) (.readLine r)])))
        (is (= :peer-closed (take!! (ev.async/closed @conn-p) 5000)))))))

(deftest a-reset-closes-both-and-releases-the-producer
  (let [conn-p (promise)
        producer-done (promise)
        in-end (promise)
        h (capture conn-p (fn [_ in out]
                            (go (deliver in-end (<! in)))
                            (go (loop [] (when (>! out (numbered-line 0)) (recur)))
                                (deliver producer-done true))))]
    (with-open [server (ev/start-server (ev.async/handler h) {:port 0})]
      (let [s (connect (:port server))
            conn (deref conn-p 5000 nil)]
        (is (wait-until #(:out-paused? (ev.async/channel-info conn)) 10000))
        (.setSoLinger s true 0)
        (.close s)                                             ; RST
        (is (= :reset (take!! (ev.async/closed conn) 5000)))
        (is (nil? (deref in-end 5000 :timeout)) "`in` closed")
        (is (true? (deref producer-done 5000 :timeout)) "the parked producer was released")))))

(deftest a-server-stop-closes-every-in
  (let [ends (a/chan 10)
        h (fn [conn in _]
            (go (loop [] (when (<! in) (recur)))
                (>! ends (<! (ev.async/closed conn)))))
        server (ev/start-server (ev.async/handler h) {:port 0})
        sockets (doall (repeatedly 3 #(connect (:port server))))]
    (try
      (is (wait-until #(= 3 (count (ev/connections server))) 5000))
      (is (= :stopped (deref (ev/stop-server server) 10000 :timeout)))
      (is (= (repeat 3 :server-stop) (repeatedly 3 #(take!! ends 5000))))
      (finally (run! #(.close ^Socket %) sockets)))))

(deftest a-throwing-handler-closes-its-connection-not-the-loop
  (let [conns (atom [])
        h (fn [conn _ _] (swap! conns conj conn) (throw (ex-info "deliberate, for this test" {})))]
    (with-open [server (ev/start-server (ev.async/handler h) {:port 0})]
      (dotimes [_ 2]
        (with-open [s (connect (:port server))]
          (is (= -1 (.read (.getInputStream s))) "closed")))
      (is (= [:handler-error :handler-error] (map #(take!! (ev.async/closed %) 5000) @conns)))
      (is (:running? (ev/loop-info (ev/server-loop server)))))))

(deftest a-value-that-cannot-be-sent-ends-its-connection-only
  ;; `str` of a lazy seq realizes it (its hash), and here realizing it throws:
  ;; (>! out (map parse xs)) with a bad x. What the loop had gathered for this
  ;; connection must neither go to the next connection it pumps nor stall it.
  (let [conns (a/chan 2)
        n (atom 0)
        producer-done (promise)
        bad (map (fn [_] (throw (ex-info "deliberate, for this test" {}))) [1])
        h (fn [conn _ out]
            (a/offer! conns conn)
            (if (= 1 (swap! n inc))
              (do (a/offer! out "good\n")
                  (a/offer! out bad)                  ; `out` is full: the producer parks
                  (go (loop [] (when (>! out "more\n") (recur)))
                      (deliver producer-done true)))
              (a/offer! out "b\n"))
            nil)]
    (with-open [server (ev/start-server (ev.async/handler h {:out-buffer 2}) {:port 0})
                s1 (connect (:port server))]
      (let [c1 (take!! conns 5000)
            r1 (reader s1)]
        (is (= "good" (.readLine r1)) "what came before the bad value is sent")
        (is (= :handler-error (take!! (ev.async/closed c1) 5000)) "the connection ends, visibly")
        (is (nil? (.readLine r1)) "and closes")
        (is (false? (first (a/alts!! [[(:out (ev.async/channels c1)) "late\n"] (a/timeout 5000)])))
            "its `out` is closed")
        (is (true? (deref producer-done 5000 :timeout)) "the parked producer was released")
        (with-open [s2 (connect (:port server))]
          (take!! conns 5000)
          (is (= "b" (.readLine (reader s2))) "the next connection on the loop gets its own bytes only"))
        (is (:running? (ev/loop-info (ev/server-loop server))))))))

(deftest a-throwing-blocking-handler-ends-with-handler-error
  (let [conn-p (promise)
        h (capture conn-p (fn [_ _ _] (throw (ex-info "deliberate, for this test" {}))))]
    (with-open [server (ev/start-server (ev.async/handler h {:blocking true}) {:port 0})
                s (connect (:port server))]
      (is (= -1 (.read (.getInputStream s))) "closed")
      (is (= :handler-error (take!! (ev.async/closed (deref conn-p 5000 nil)) 5000))
          "as when a non-blocking handler throws"))))

(deftest returning-out-itself-leaves-closing-it-to-the-application
  ;; (a/pipe from out) returns `out`: the pipe closes it once `in` is done, so
  ;; the peer's EOF must not close it while frames are still on their way.
  ;; With :blocking, the io-thread's channel yields `out`: the same.
  (doseq [blocking [false true]]
    (testing (str ":blocking " blocking)
      (let [n 2000
            h (fn [_ in out] (a/pipe (a/map #(str "re " %) [in]) out))]
        (with-open [server (ev/start-server (ev.async/handler h {:blocking blocking}) {:port 0})
                    s (connect (:port server))]
          (write! s (apply str (for [i (range n)] (str i "\n"))))
          (.shutdownOutput s)
          (let [r (reader s)
                got (doall (take-while some? (repeatedly #(.readLine r))))]
            (is (= n (count got)) "every answer arrives, then the connection closes")
            (is (every? true? (map = (map #(str "re " %) (range n)) got)) "in order")))))))

;; ---- closing from the application's side

(deftest closing-in-while-a-frame-waits-for-room-lets-reading-go-on
  ;; core.async keeps a put that is pending when its channel closes: the loop's
  ;; put of the frame that found `in` full never completes if nobody takes again.
  (let [chs (promise)
        h (ev.async/handler (fn [conn in _] (deliver chs [conn in]) nil) {:in-buffer 1})]
    (with-open [server (ev/start-server h {:port 0})
                s (connect (:port server))]
      (let [[conn in] (deref chs 5000 nil)]
        (write! s "a\nb\nc\n")                  ; `in` holds a, the loop waits to put b, c behind it
        (is (wait-until #(:read-paused? (ev.async/channel-info conn)) 5000))
        (a/close! in)                          ; the application is done with input
        (is (wait-until #(= {:read-paused? false :overflow 0}
                            (let [i (ev.async/channel-info conn)]
                              {:read-paused? (:read-paused? i) :overflow (get-in i [:in :overflow])}))
                        5000)
            "the loop stops waiting for room: reading goes on")
        (send-line s "more")
        (.shutdownOutput s)
        (is (= :peer-closed (take!! (ev.async/closed conn) 5000)) "the peer's EOF is seen, the connection ends")
        (is (= -1 (.read (.getInputStream s))))
        (is (= ["a\n" "b\n" nil] (repeatedly 3 #(take!! in 5000)))
            "what `in` held and the frame waiting for it can still be taken; what came later was dropped")))))

(deftest values-put-while-the-connection-closes-are-refused
  (let [chs (promise)
        h (ev.async/handler (fn [conn _ out] (deliver chs [conn out]) nil))]
    (with-open [server (ev/start-server h {:port 0 :high-watermark (* 256 MiB) :low-watermark 1024
                                           :close-timeout-ms 30000})
                s (doto (Socket.)                     ; reads nothing, and holds little in its kernel
                    (.setReceiveBufferSize 4096)
                    (.connect (InetSocketAddress. "127.0.0.1" (int (:port server))) 5000))]
      (let [[conn out] (deref chs 5000 nil)
            chunk (byte-array MiB (byte 46))
            state #(first (ev/connections server))]
        (dotimes [_ 32] (a/>!! out chunk))          ; more than the kernel's buffers take: output stays queued
        (is (wait-until #(pos? (:queued-out (state) 0)) 5000))
        (ev/close-connection! conn)                 ; flushing within 30 s to a peer that does not read
        (is (wait-until #(= :closing (:state (state))) 5000))
        (let [put! #(first (a/alts!! [[out "lost\n"] (a/timeout 5000)]))
              accepted (loop [n 0] (if (and (< n 100000) (true? (put!))) (recur (inc n)) n))]
          (is (<= accepted 66) "at most the value the loop was waiting for and what `out` holds")
          (is (false? (put!)) "then `out` is closed: puts return false at once")
          (is (= :closing (:state (state))) "while the connection still flushes"))
        (.setSoLinger s true 0)
        (.close s)
        (is (= :reset (take!! (ev.async/closed conn) 5000)))))))

(deftest a-callback-refused-by-a-closing-loop-waits-for-its-thread
  ;; A closing loop refuses other threads' tasks while its thread still runs,
  ;; closing its connections (`ended`). A callback it refuses then runs on
  ;; another thread: it has to wait for the loop thread's step on the same
  ;; connection instead of running beside it.
  (let [lp (ev/start-loop! (ev/open-loop))
        chs (promise)
        ending (promise)
        release (promise)
        h (ev.async/handler
           (fn [conn in _]
             (deliver chs [conn in])
             ;; on-caller: this runs on the loop thread, inside the connection's end
             (a/take! (ev.async/closed conn)
                      (fn [_] (deliver ending (.getName (Thread/currentThread))) (deref release 10000 nil)))
             nil)
           {:in-buffer 1})
        server (ev/start-server h {:port 0 :loop lp})
        s (connect (:port server))]
    (try
      (let [[conn in] (deref chs 5000 nil)
            st (impl/channels-of conn)
            waiting-for-st? (fn []
                              (some (fn [^ThreadInfo ti]
                                      (and (= Thread$State/BLOCKED (.getThreadState ti))
                                           (some-> (.getLockInfo ti) .getIdentityHashCode
                                                   (= (System/identityHashCode st)))))
                                    (.dumpAllThreads (ManagementFactory/getThreadMXBean) false false)))]
        (write! s "a\nb\nc\n")                  ; `in` holds a, the loop waits to put b, c behind it
        (is (wait-until #(= 1 (get-in (ev.async/channel-info conn) [:in :overflow])) 5000))
        (let [closing (future (.close ^EventLoop lp))]
          (is (= "evloop-loop" (deref ending 5000 nil)) "the loop thread is ending the connection")
          (is (= "a\n" (take!! in 5000)) "this completes the waiting put; the loop refuses its callback")
          (is (wait-until waiting-for-st? 5000) "the callback waits for the loop thread's step")
          (is (= 1 (get-in (ev.async/channel-info conn) [:in :overflow])) "and has changed nothing yet")
          (deliver release true)
          (is (not= :timeout (deref closing 10000 :timeout))))
        (is (= ["b\n" "c\n" nil] (repeatedly 3 #(take!! in 5000)))
            "then every frame is delivered and `in` closes"))
      (finally
        (deliver release true)
        (.close s)
        (.close ^EventLoop lp)))))

;; ---- no leaks

(deftest no-thread-or-fd-leaks-after-1000-connections
  (let [fds #(count (.list (java.io.File. "/proc/self/fd")))
        threads #(.getThreadCount (ManagementFactory/getThreadMXBean))]
    (with-open [server (async-echo/start {:port 0})]
      (let [cycle! (fn [i]
                     (with-open [s (connect (:port server))]
                       (send-line s (str "ping " i))
                       (.readLine (reader s))))
            settled? #(zero? (get-in (ev/server-info server) [:stats :active]))]
        (run! cycle! (range 50))                               ; warm: pools and caches
        (wait-until settled? 5000)
        (let [fds-before (fds)
              threads-before (threads)]
          (is (= (map #(str "ping " %) (range 1000)) (map cycle! (range 1000))))
          (is (wait-until settled? 5000))
          (is (wait-until #(<= (fds) fds-before) 5000) "no fd leak")
          (is (<= (threads) (+ threads-before 8)) "no thread per connection left behind"))))))
