(ns evloop.core-test
  (:require [clojure.test :refer [deftest is testing]]
            [evloop.core :as ev]
            [evloop.repl]
            [evloop.test-util :refer [wait-until]])
  (:import (evloop.sys Descriptors Native)
           (java.nio ByteBuffer)))

(deftest events-decode-to-keyword-sets
  (is (= #{:in :rdhup} (ev/decode-events (bit-or 0x1 0x2000))))
  (testing "EPOLLET, the sign bit, is a registration flag, not readiness: it is ignored"
    (is (neg? (unchecked-int 0x80000000)))
    (is (= #{:in} (ev/decode-events (unchecked-int 0x80000001)))))
  (is (= #{} (ev/decode-events 0)))
  (is (= #{:in :out :rdhup} (ev/decode-events (ev/encode-events #{:in :out :rdhup}))))
  (is (thrown-with-msg? clojure.lang.ExceptionInfo #"unknown event :et" (ev/encode-events #{:et}))))

(deftest tables-turns-and-loop-info
  (with-open [loop (ev/open-loop)]
    (let [[r w] (.pipe (Descriptors/get))
          seen (atom [])]
      (ev/on-readable! loop r (fn [fd events]
                               (swap! seen conj [fd events])
                               (.read (Native/get) (int fd) (Native/allocate 16))))
      (ev/set-trigger! loop r :edge)
      (testing "the loop as data"
        (is (= [{:fd r :interest #{:in :rdhup} :tables #{:read} :trigger :edge}]
               (mapv #(dissoc % :generation) (:fds (ev/loop-info loop)))))
        (is (false? (:running? (ev/loop-info loop)))))
      (ev/trace! loop true)
      (.write (Native/get) (int w) (ByteBuffer/allocateDirect 3))
      (is (= 1 (ev/run-once! loop 1000)))
      (is (= [[r #{:in}]] @seen))
      (is (= [{:turn 1 :pairs [[r #{:in}]]}] (ev/recent-turns loop)))
      (testing "a replaced per-turn callback gets the pairs and may dispatch"
        (let [turns (atom [])]
          (ev/on-turn! loop (fn [pairs] (swap! turns conj pairs) (ev/dispatch! loop)))
          (.write (Native/get) (int w) (ByteBuffer/allocateDirect 1))
          (ev/run-once! loop 1000)
          (is (= [[[r #{:in}]]] @turns))
          (is (= 2 (count @seen)))))
      (testing "failed syscalls are ex-info with :syscall and :errno"
        (let [e (try (ev/on-readable! loop 99999 (fn [_ _])) nil
                     (catch clojure.lang.ExceptionInfo e e))]
          (is (= {:syscall "epoll_ctl" :errno 9 :errno-name "EBADF" :fd 99999} (ex-data e)))))
      (ev/remove! loop r)
      (.close (Native/get) (int r))
      (.close (Native/get) (int w)))))

(deftest execute-and-schedule-run-on-the-loop
  (with-open [loop (ev/start-loop! (ev/open-loop))]
    (let [p (promise) q (promise)]
      (ev/execute! loop #(deliver p (.getName (Thread/currentThread))))
      (ev/schedule! loop 5 #(deliver q :fired))
      (is (= "evloop-loop" (deref p 5000 :timeout)))
      (is (= :fired (deref q 5000 :timeout)))
      (is (:running? (ev/loop-info loop))))))

(deftest evloop-namespaces-compile-without-reflection
  (doseq [ns-sym '[evloop.impl.enums evloop.impl.handler evloop.impl.options evloop.impl.data evloop.impl.print
                   evloop.impl.server evloop.impl.tables evloop.impl.client evloop.impl.cli evloop.impl.errors
                   evloop.core evloop.echo evloop.chicken evloop.repl evloop.blocking]]
    (let [err (java.io.StringWriter.)]
      (binding [*err* (java.io.PrintWriter. err)]
        (require ns-sym :reload))
      (is (not (re-find #"Reflection warning" (str err))) (str ns-sym ": " err)))))

(deftest string-lines-stay-whole-when-a-server-has-two-loops
  ;; One handler serves both loops: its decoding must not share a buffer between them.
  (let [bad (atom 0)
        lines 3000
        size 1001
        line-of (fn [id] (str (apply str (repeat (dec size) (char (+ 97 id)))) "\n"))
        expected (into {} (for [id (range 6)] [(char (+ 97 id)) (line-of id)]))
        whole? (fn [^String line] (= line (expected (.charAt line 0))))]
    (with-open [s (ev/start-server (fn [_ line] (when-not (whole? line) (swap! bad inc)) nil) {:port 0 :loops 2})]
      (let [clients (for [id (range 6)]
                      (future
                        (with-open [sock (doto (java.net.Socket.)
                                           (.connect (java.net.InetSocketAddress. "127.0.0.1" (int (:port s)))))]
                          (let [line (.getBytes ^String (line-of id))]
                            (dotimes [_ lines] (.write (.getOutputStream sock) line))))))]
        (run! deref (doall clients))
        (is (wait-until #(= (* 6 lines) (get-in (ev/server-info s) [:stats :frames-in])) 10000))
        (is (zero? @bad) "lines decoded on one loop thread were overwritten by the other's")))))

(defmulti ^:private multi-handler (fn [_conn line] (if (.startsWith ^String line "up ") :up :same)))
(defmethod multi-handler :up [_ ^String line] (.toUpperCase line))
(defmethod multi-handler :same [_ line] line)

(defn- key-of-error [f]
  (try (f) :no-error
       (catch clojure.lang.ExceptionInfo e (:key (ex-data e)))))

(deftest bad-inputs-get-an-ex-info-naming-the-key
  (with-open [server (ev/start-server (fn [_ line] line) {:port 0})]
    (let [c (ev/connect! {:port (:port server)})]
      (try
        (is (= :how (key-of-error #(ev/close-connection! c :bogus))))
        (is (= :how (key-of-error #(ev/close-connection! c nil))))
        (is (.isOpen ^evloop.tcp.Connection c) "a refused close closes nothing")
        (finally (ev/close-connection! c :graceful)))))
  (with-open [lp (ev/open-loop)]
    (testing "trace!'s n"
      (is (= :n (key-of-error #(ev/trace! lp true 0))))
      (is (= :n (key-of-error #(ev/trace! lp true "64"))))
      (is (= :n (key-of-error #(ev/trace! lp true Long/MAX_VALUE)))))
    (testing "watch!'s options"
      (is (= :stall-ms (key-of-error #(evloop.repl/watch! lp {:stall-ms -1}))))
      (is (= :stall-ms (key-of-error #(evloop.repl/watch! lp {:stall-ms "100"}))))
      (is (= :empty-turns-per-sec (key-of-error #(evloop.repl/watch! lp {:empty-turns-per-sec 1.5}))))
      (is (= :stal-ms (key-of-error #(evloop.repl/watch! lp {:stal-ms 100}))) "an unknown key")
      (is (= lp (evloop.repl/watch! lp {:stall-ms 50})))
      (is (= lp (evloop.repl/watch! lp nil)) "nil still stops watching")))
  (testing "the loop's own calls"
    (is (= :max-events (key-of-error #(ev/open-loop {:max-events 0}))))
    (is (= :max-events (key-of-error #(ev/open-loop {:max-events "64"}))))
    (is (= :max-event (key-of-error #(ev/open-loop {:max-event 64}))) "an unknown key")
    (is (= :events (key-of-error #(ev/encode-events #{:inn}))))
    (is (= :events (key-of-error #(ev/encode-events :in))))
    (with-open [lp (ev/open-loop)]
      (is (= :mode (key-of-error #(ev/set-trigger! lp 0 :edgy))))
      (is (= :mode (key-of-error #(ev/set-trigger! lp 0 nil))))
      (is (= :pairs (key-of-error #(evloop.repl/inject! lp [[5 :in] 6]))))
      (is (= :events (key-of-error #(evloop.repl/inject! lp [[5 :in]]))))))
  (testing "the REPL tools want a server, and Clojure handlers where they call or record them"
    (is (= :server (key-of-error #(evloop.repl/record-frames! {:port 1} true))))
    (is (= :server (key-of-error #(evloop.repl/recent-frames nil))))
    (let [java-handler (reify evloop.tcp.TcpHandler (onMessage [_ c frame] (.send c frame)))]
      (is (= :handler (key-of-error #(evloop.repl/replay! java-handler ["x\n"]))))
      (with-open [server (ev/start-server java-handler {:port 0})]
        (is (= :handler (key-of-error #(evloop.repl/record-frames! server true)))))))
  (testing "handlers: callable things are taken, other IFns refused"
    (doseq [bad [:on-line {:on-lin (fn [_ l] l)} {:on-line :kw} #{1} ['f] 'sym {}]]
      (is (= :handler (key-of-error #(ev/start-server bad {:port 0}))) (pr-str bad)))
    (with-open [server (ev/start-server multi-handler {:port 0})
                s (doto (java.net.Socket. "127.0.0.1" (int (:port server))) (.setSoTimeout 10000))]
      (let [r (java.io.BufferedReader. (java.io.InputStreamReader. (.getInputStream s)))]
        (.write (.getOutputStream s) (.getBytes "up a\nb\n"))
        (is (= ["UP A" "b"] [(.readLine r) (.readLine r)]) "a multimethod is a handler")))))
