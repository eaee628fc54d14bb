(ns evloop.async-test
  "evloop.async over real sockets: echo, backpressure both ways with 64 MiB,
  pausing, hot swap, clients and go blocks on the loop; how connections end
  (and no leaks) is in evloop.async-close-test. core.async is not a
  dependency of evloop: the runner skips this namespace without it."
  {:evloop.test/requires ["clojure.core.async"]}
  (:require [clojure.core.async :as a :refer [<! >! go go-loop]]
            [clojure.string :as str]
            [clojure.test :refer [deftest is testing]]
            [evloop.async :as ev.async]
            [evloop.async-echo :as async-echo]
            [evloop.async-test-util :refer [MiB capture numbered-line take!! write!]]
            [evloop.async.dispatch :as dispatch]
            [evloop.core :as ev]
            [evloop.test-util :refer [connect reader send-line wait-until]])
  (:import (evloop.tcp Connection)
           (java.io ByteArrayOutputStream)
           (java.util Arrays Random)
           (java.util.concurrent Executor TimeUnit)
           (java.util.concurrent.atomic AtomicLong)))

(defn- used-heap []
  (System/gc)
  (let [rt (Runtime/getRuntime)] (- (.totalMemory rt) (.freeMemory rt))))

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

;; ---- pausing from the application's side

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
