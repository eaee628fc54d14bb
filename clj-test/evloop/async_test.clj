(ns evloop.async-test
  "evloop.async over real sockets: echo, backpressure both ways with 64 MiB,
  the close semantics, hot swap, and no leaks. core.async is not a dependency
  of evloop: the runner skips this namespace without it."
  {:evloop.test/requires ["clojure.core.async"]}
  (:require [clojure.core.async :as a :refer [<! >! go go-loop]]
            [clojure.string :as str]
            [clojure.test :refer [deftest is testing]]
            [evloop.async :as ev.async]
            [evloop.async-echo :as async-echo]
            [evloop.async.dispatch :as dispatch]
            [evloop.core :as ev]
            [evloop.impl.async :as impl]
            [evloop.test-util :refer [connect reader send-line wait-until]])
  (:import (evloop EventLoop)
           (evloop.tcp Connection)
           (java.io ByteArrayOutputStream)
           (java.lang.management ManagementFactory ThreadInfo)
           (java.net InetSocketAddress Socket)
           (java.util Arrays Random)
           (java.util.concurrent Executor TimeUnit)
           (java.util.concurrent.atomic AtomicLong)))

(defn- take!!
  "Takes from `ch`, or ::timeout after `ms`: no test waits without a deadline."
  [ch ms]
  (a/alt!! ch ([v] v) (a/timeout ms) ::timeout))

(defn- used-heap []
  (System/gc)
  (let [rt (Runtime/getRuntime)] (- (.totalMemory rt) (.freeMemory rt))))

(def ^:private MiB (* 1024 1024))

(def ^:private ^String dots (apply str (repeat 1023 \.)))

(defn- numbered-line
  "Line `i` of 1 KiB: its number, padding, a newline."
  ^String [i]
  (let [head (str i " ")]
    (str head (subs dots 0 (- 1023 (count head))) "\n")))

(defn- write!
  "Writes `text` in one write (so that a loopback peer reads it in one read)."
  [^Socket s ^String text]
  (doto (.getOutputStream s) (.write (.getBytes text "UTF-8")) (.flush)))

(defn- capture
  "A handler fn that hands each connection to `p`, then runs `(f conn in out)`."
  [p f]
  (fn [conn in out] (deliver p conn) (f conn in out)))

(deftest echo-through-channels-is-byte-exact
  (testing "strings: UTF-8 split across reads, many lines per read, \\r\\n kept"
    (with-open [server (async-echo/start {:port 0})
                s (connect (:port server))]
      (let [out (.getOutputStream s)
            sent (.getBytes (str "héllo\r\nwörld\n" (apply str (for [i (range 2000)] (str "line " i "\n")))) "UTF-8")
            got (ByteArrayOutputStream.)]
        (doseq [[from to] [[0 2] [2 13] [13 (alength sent)]]]   ; the first cut splits é
          (.write out sent from (- to from))
          (.flush out))
        (.shutdownOutput s)                                    ; EOF: every answer still comes
        (.transferTo (.getInputStream s) got)
        (is (Arrays/equals sent (.toByteArray got)))))))

(deftest echo-of-arbitrary-bytes-in-the-bytes-format
  (with-open [server (ev/start-server (ev.async/handler #'async-echo/echo {:format :bytes}) {:port 0})
              s (connect (:port server))]
    (let [rnd (Random. 42)
          sent (byte-array (* 256 1024))
          _ (.nextBytes rnd sent)
          _ (aset-byte sent (dec (alength sent)) 10)
          out (.getOutputStream s)
          got (ByteArrayOutputStream.)]
      (loop [at 0]                                              ; in random pieces
        (when (< at (alength sent))
          (let [n (min (- (alength sent) at) (inc (.nextInt rnd 3000)))]
            (.write out sent at n)
            (recur (+ at n)))))
      (.shutdownOutput s)
      (.transferTo (.getInputStream s) got)
      (is (Arrays/equals sent (.toByteArray got))))))

(deftest a-slow-consumer-holds-the-peer-back-through-tcp
  (let [n (quot (* 64 MiB) 1024)
        slow? (atom true)
        got (AtomicLong.)
        misordered (atom nil)
        conn-p (promise)
        h (capture conn-p (fn [_ in _]
                            (go-loop [i 0]
                              (when-let [line (<! in)]
                                (when (and (nil? @misordered) (not= line (numbered-line i)))
                                  (reset! misordered [i line]))
                                (.set got (inc i))
                                (when @slow? (<! (a/timeout 1)))   ; 1 line per ms
                                (recur (inc i))))))]
    (with-open [server (ev/start-server (ev.async/handler h) {:port 0})
                s (connect (:port server))]
      (let [before (used-heap)
            written (AtomicLong.)
            writer (future
                     (let [out (.getOutputStream s)]
                       (doseq [batch (partition-all 64 (range n))]
                         (.write out (.getBytes ^String (apply str (map numbered-line batch)) "UTF-8"))
                         (.addAndGet written (* 1024 (count batch))))
                       (.get written)))
            conn (deref conn-p 5000 nil)]
        (is (wait-until #(and (:read-paused? (ev.async/channel-info conn))
                              (> (.get written) (* 2 MiB)))
                        10000)
            "reading paused while the client pushes")
        (is (wait-until #(>= (.get got) 200) 10000) "a while of 1 line per ms")
        (let [[taken {:keys [bytes-in] :as c}]
              (wait-until #(let [t (.get got)                  ; read first: the bound errs high
                                 c (first (ev.async/connections server))]
                             (when (get-in c [:channels :read-paused?]) [t c]))
                          5000)]
          (is (get-in c [:channels :read-paused?]) "connections shows it")
          (is (<= (- bytes-in (* 1024 taken)) (+ (* 64 1024) (* 64 1024) 2048))
              "the server holds at most a full `in` and one read; the rest waits in TCP")
          (is (< (- (used-heap) before) (* 32 MiB)) "heap growth bounded, not 64 MiB")
          (is (< taken n)))
        (reset! slow? false)
        (is (wait-until #(= n (.get got)) 14000) "every line arrives once the consumer speeds up")
        (is (= (* 64 MiB) (deref writer 5000 :timeout)))
        (is (nil? @misordered) "in order")))))

(deftest a-slow-reader-parks-the-producer
  (let [n (quot (* 64 MiB) 1024)
        produced (AtomicLong.)
        conn-p (promise)
        h (capture conn-p (fn [_ _ out]
                            (go (loop [i 0]
                                  (when (and (< i n) (>! out (numbered-line i)))
                                    (.incrementAndGet produced)
                                    (recur (inc i)))))))]
    (with-open [server (ev/start-server (ev.async/handler h) {:port 0})
                s (connect (:port server))]
      (let [before (used-heap)
            conn (deref conn-p 5000 nil)]
        ;; Loopback buffers grow for a while (autotuning), so output can go below
        ;; the low watermark and back a few times before everything stands still.
        (is (wait-until #(let [i (ev.async/channel-info conn)]
                           (and (:out-paused? i) (= 64 (get-in i [:out :count]))
                                (:output-backed-up? (first (ev/connections server)))))
                        10000)
            "the loop stopped taking and `out` filled: the producer is parked")
        (let [p (.get produced)
              {:keys [bytes-out queued-out output-backed-up?]} (first (ev/connections server))]
          (is output-backed-up?)
          (is (< p n))
          (is (<= queued-out (+ MiB (* 64 1024) 1024)) "high watermark plus one batch")
          (is (<= (- (* 1024 p) bytes-out) (+ queued-out (* 65 1024))) "the JVM holds queued output and `out`")
          (is (< (- (used-heap) before) (* 32 MiB)) "heap growth bounded"))
        (let [r (reader s)]
          (is (every? true? (for [i (range n)] (= (numbered-line i) (str (.readLine r) "\n"))))
              "everything arrives, in order, when the client reads")
          (is (nil? (.readLine r)) "the go block ended, so the connection closed"))))))

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

(deftest a-busy-out-does-not-starve-the-loop
  ;; `out` holds n values and the connection stays writable (a high watermark
  ;; above all of them): the loop must still run its other work between
  ;; batches, not send all n first.
  (let [n 8192
        seen (promise)
        h (fn [^Connection conn _ out]
            (dotimes [i n] (a/offer! out (numbered-line i)))
            ;; The first pump is queued behind this task; what this task queues runs after it.
            (ev/execute! (.loop conn)
                         (fn [] (ev/execute! (.loop conn)
                                             #(deliver seen (get-in (ev.async/channel-info conn) [:out :count])))))
            nil)]
    (with-open [server (ev/start-server (ev.async/handler h {:out-buffer n})
                                        {:port 0 :high-watermark (* 64 MiB)})
                s (connect (:port server))]
      (let [left (deref seen 10000 :timeout)]
        (is (and (number? left) (> left (quot n 2)))
            (str "a task queued while `out` is pumped runs before it is drained (left: " left ")")))
      (let [r (reader s)]
        (is (every? true? (for [i (range n)] (= (numbered-line i) (str (.readLine r) "\n"))))
            "and every value is still sent, in order")))))

;; ---- closing and pausing from the application's side

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

(deftest resume-reading-while-in-is-full-reads-one-more-read-only
  (let [n 8192                                   ; 8 MiB of 1 KiB lines
        chs (promise)
        h (ev.async/handler (fn [conn in _] (deliver chs [conn in]) nil) {:in-buffer 1})]
    (with-open [server (ev/start-server h {:port 0})
                s (connect (:port server))]
      (let [writer (future
                     (let [o (.getOutputStream s)]
                       (doseq [batch (partition-all 64 (range n))]
                         (.write o (.getBytes ^String (apply str (map numbered-line batch)) "UTF-8")))
                       :done))
            [^Connection conn in] (deref chs 5000 nil)
            state #(first (ev/connections server))]
        (is (wait-until #(:read-paused? (ev.async/channel-info conn)) 5000))
        (let [before (:bytes-in (state))]
          (.resumeReading conn)                  ; the application's own, while `in` is full
          (is (wait-until #(let [c (state)] (and (> (:bytes-in c) before) (:read-paused? c))) 5000)
              "it reads again, and the frames that have to wait pause it again")
          (is (<= (get-in (ev.async/channel-info conn) [:in :overflow]) 140)
              "the frames of two reads wait on the loop, not everything the peer sent"))
        (is (= (map numbered-line (range n)) (repeatedly n #(take!! in 5000)))
            "every line arrives, in order, once the application takes")
        (is (= :done (deref writer 5000 :timeout)))))))

(deftest a-pause-the-application-made-is-left-to-it
  (let [chs (promise)
        h (ev.async/handler
           (fn [^Connection conn in _]
             ;; on-caller: runs on the loop thread as the first frame arrives,
             ;; before the rest of that read is delivered
             (a/take! in (fn [_] (.pauseReading conn)))
             (deliver chs [conn in])
             nil)
           {:in-buffer 1})]
    (with-open [server (ev/start-server h {:port 0})
                s (connect (:port server))]
      (let [[^Connection conn in] (deref chs 5000 nil)
            state #(first (ev/connections server))]
        (write! s "a\nb\nc\n")                  ; a to the callback, b into `in`, c waits for room
        (is (wait-until #(= 1 (get-in (ev.async/channel-info conn) [:in :count])) 5000))
        (is (= ["b\n" "c\n"] [(take!! in 5000) (take!! in 5000)]))
        ;; The loop answers in order: c's put completed, and the loop has handled that.
        (is (:read-paused? (state)) "room in `in` does not resume what the application paused")
        (.resumeReading conn)
        (send-line s "d")
        (is (= "d\n" (take!! in 5000)) "the application resumes it")))))

(deftest a-var-is-looked-up-per-connection
  (let [v (intern 'evloop.async-test 'swapped-handler
                  (fn [_ in out] (go-loop [] (when-let [l (<! in)] (>! out (str "old " l)) (recur)))))]
    (try
      (with-open [server (ev/start-server (ev.async/handler v) {:port 0})
                  first-conn (connect (:port server))]
        (let [r1 (reader first-conn)]
          (send-line first-conn "x")
          (is (= "old x" (.readLine r1)))
          (alter-var-root v (constantly (fn [_ in out] (a/pipe (a/map #(str "new " %) [in]) out))))
          (with-open [second-conn (connect (:port server))]
            (send-line second-conn "y")
            (is (= "new y" (.readLine (reader second-conn))) "a new connection runs the new code"))
          (send-line first-conn "z")
          (is (= "old z" (.readLine r1)) "an open one keeps the code it started with")))
      (finally (ns-unmap 'evloop.async-test 'swapped-handler)))
    (is (nil? (ns-resolve 'evloop.async-test 'swapped-handler)) "no var left behind")))

(deftest swapping-to-a-plain-handler-leaves-channel-connections-theirs
  (let [conn-p (promise)
        ended (promise)
        h (capture conn-p (fn [_ in out]
                            (go (loop [] (when-let [l (<! in)] (>! out l) (recur)))
                                (deliver ended :in-closed))))]
    (with-open [server (ev/start-server (ev.async/handler h) {:port 0})
                s (connect (:port server))]
      (let [r (reader s)
            conn (deref conn-p 5000 nil)]
        (send-line s "before")
        (is (= "before" (.readLine r)))
        (ev/swap-handler! server (fn [_ l] (str "plain " l)))
        (with-open [s2 (connect (:port server))]
          (send-line s2 "new")
          (is (= "plain new" (.readLine (reader s2))) "a new connection gets the plain handler"))
        (send-line s "after")
        (is (= "after" (.readLine r)) "an open one keeps its channels")
        (.shutdownOutput s)
        (is (nil? (.readLine r)))
        (is (= :in-closed (deref ended 5000 :timeout)) "EOF still closes its `in`")
        (is (= :peer-closed (take!! (ev.async/closed conn) 5000)) "and its end is delivered")))))

(deftest a-blocking-handler-runs-on-io-thread
  (let [kind (promise)
        h (fn [_ in out]
            (deliver kind (str (Thread/currentThread)))
            (loop []
              (when-let [l (a/<!! in)]
                (a/>!! out l)
                (recur))))]
    (with-open [server (ev/start-server (ev.async/handler h {:blocking true}) {:port 0})
                s (connect (:port server))]
      (send-line s "blocking")
      (let [r (reader s)]
        (is (= "blocking" (.readLine r)))
        (.shutdownOutput s)
        (is (nil? (.readLine r)) "the fn returned: the connection closed"))
      (is (= (>= (.feature (Runtime/version)) 21)
             (.startsWith ^String (deref kind 1000 "") "VirtualThread"))
          "virtual threads on JDK 21+"))))

(deftest clients-get-channels-too
  (with-open [server (async-echo/start {:port 0})]
    (let [{:keys [in out closed conn]} (ev.async/connect! {:port (:port server) :format :bytes :in-buffer 4})]
      (is (a/>!! out "over channels\n"))
      (is (= "over channels\n" (String. ^bytes (take!! in 5000) "UTF-8")))
      (is (= {:in {:count 0 :size 4 :overflow 0} :out {:count 0 :size 64}}
             (select-keys (ev.async/channel-info conn) [:in :out])))
      (a/close! out)
      (is (= :local-close (take!! closed 5000)))
      (is (nil? (take!! in 5000))))))

(deftest open-connections-survive-a-reload-of-the-channel-namespaces
  ;; A reload defines a new Channels class; the connection still holds an instance of the old.
  (with-open [server (async-echo/start {:port 0})]
    (let [{:keys [in out conn]} (ev.async/connect! {:port (:port server)})]
      (try
        (is (a/>!! out "before\n"))
        (is (= "before\n" (take!! in 5000)))
        (require 'evloop.impl.channels 'evloop.impl.async 'evloop.async :reload)
        (is (= #{:in :out :closed} (set (keys (ev.async/channels conn)))))
        (is (= 64 (get-in (ev.async/channel-info conn) [:in :size])))
        (is (some? (ev.async/closed conn)))
        (is (= 1 (count (ev.async/connections server))))
        (is (some :channels (ev.async/connections server)) "the server side's connection has its channels in the data")
        (is (a/>!! out "after\n"))
        (is (= "after\n" (take!! in 5000)) "traffic goes on")
        (finally (a/close! out))))))

(deftest bad-options-name-the-key
  (doseq [[opts k] [[{:in-buffer 0} :in-buffer] [{:format :lines} :format] [{:blocking 1} :blocking]
                    [{:nope 1} :nope]]]
    (is (= k (:key (ex-data (try (ev.async/handler (fn [_ _ _]) opts) (catch Exception e e))))) (pr-str opts)))
  (is (= :handler (:key (ex-data (try (ev.async/handler "no") (catch Exception e e)))))))

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

(def ^:private on-loop-child
  "Run in a JVM with go blocks dispatched on loops: an echo with a tiny `in`
  (so reading pauses and resumes too), byte-exact, and the threads its go
  block resumed on."
  (pr-str
   '(let [threads (java.util.concurrent.ConcurrentHashMap/newKeySet)
          h (evloop.async/handler
             (fn [_ in out]
               (clojure.core.async/go-loop []
                 (when-let [l (clojure.core.async/<! in)]
                   (.add threads (re-find #"^[a-z]+" (.getName (Thread/currentThread))))
                   (clojure.core.async/>! out l)
                   (recur))))
             {:in-buffer 4})
          s (evloop.core/start-server h {:port 0})
          sock (java.net.Socket. "127.0.0.1" (int (:port s)))
          lines (apply str (for [i (range 5000)] (str "line " i "\n")))]
      (future (.write (.getOutputStream sock) (.getBytes ^String lines)) (.shutdownOutput sock))
      (println (if (= lines (slurp (.getInputStream sock))) "ok" "MISMATCH") (sort threads))
      (System/exit 0))))

(deftest go-blocks-can-run-on-the-loop-that-woke-them
  (testing "the executor: on a loop thread, that loop; elsewhere, core.async's pool"
    (with-open [lp (ev/start-loop! (ev/open-loop))]
      (let [here (promise)
            there (promise)
            name-to #(fn [] (deliver % (.getName (Thread/currentThread))))]
        (ev/execute! lp #(.execute ^Executor dispatch/executor (name-to here)))
        (.execute ^Executor dispatch/executor (name-to there))
        (is (= "evloop-loop" (deref here 5000 nil)))
        (is (re-find #"^async-" (deref there 5000 ""))))))
  (testing "switched on for a whole JVM"
    (let [java (str (System/getProperty "java.home") "/bin/java")
          cp (System/getProperty "surefire.test.class.path" (System/getProperty "java.class.path"))
          p (-> (ProcessBuilder. ^java.util.List
                 [java "--enable-native-access=ALL-UNNAMED"
                  "-XX:TieredStopAtLevel=1" "-XX:+UseSerialGC"      ; starts in 3 s rather than 5
                  "-Dclojure.core.async.executor-factory=evloop.async.dispatch/executor-factory"
                  "-cp" cp "clojure.main" "-e" (str "(require 'evloop.core 'evloop.async) " on-loop-child)])
                (.redirectErrorStream true)
                (.start))]
      (try
        (let [out (future (slurp (.getInputStream p)))]
          (is (.waitFor p 60 TimeUnit/SECONDS))
          (is (= "ok (evloop)" (last (str/split-lines (deref out 5000 ""))))
              "every byte back, and the go block ran on the loop thread only"))
        (finally (.destroyForcibly p))))))

(deftest evloop-async-compiles-without-reflection
  (doseq [ns-sym '[evloop.impl.channels evloop.impl.async evloop.async evloop.async-echo evloop.async.dispatch]]
    (let [err (java.io.StringWriter.)]
      (binding [*err* (java.io.PrintWriter. err)]
        (require ns-sym :reload))
      (is (not (re-find #"Reflection warning" (str err))) (str ns-sym ": " err)))))
