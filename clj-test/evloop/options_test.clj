(ns evloop.options-test
  "Bad input as users meet it: every wrong option gets one ex-info whose
  message names the key, the value and what is allowed, and whose data says
  which key."
  (:require [clojure.test :refer [deftest is are testing]]
            [evloop.async :as eva]
            [evloop.blocking :as blocking]
            [evloop.chicken :as chicken]
            [evloop.core :as ev]
            [evloop.echo :as echo]
            [evloop.repl :as repl]
            [evloop.test-util :refer [connect send-line reader]]))

(defn- refusal [f & args]
  (try (apply f args) nil
       (catch clojure.lang.ExceptionInfo e [(ex-message e) (ex-data e)])))

(defrecord Task [p]   ; a record that is also a fn, as a task
  clojure.lang.IFn
  (invoke [_] (deliver p :record))
  (run [_] (deliver p :record)))

(deftest bad-server-options-name-the-key-the-value-and-what-is-allowed
  (are [opts msg k] (let [[m data] (refusal ev/start-server (fn [_ l] l) opts)]
                      (and (is (= msg m)) (is (= k (:key data)))))
    {:port "23612"} "start-server: :port must be an integer from 0 to 65535, got \"23612\"" :port
    {:port 70000} "start-server: :port must be an integer from 0 to 65535, got 70000" :port
    {:format :edn} "start-server: :format must be one of :buffer, :bytes, :string, got :edn" :format
    {:balance :foo} "start-server: :balance must be one of :least-loaded, :reuse-port, got :foo" :balance
    {:charset "no-such-charset"} "start-server: :charset must be the name of a charset this JVM supports, such as \"UTF-8\", got \"no-such-charset\"" :charset
    {:loops 0} "start-server: :loops must be an integer from 1 to 1024, got 0" :loops
    {:low-watermark 10 :high-watermark 5} "start-server: :low-watermark must be at most :high-watermark (5), got 10" :low-watermark
    {:idle-timeout-ms -1} "start-server: :idle-timeout-ms must be an integer from 0 to 2147483647, got -1" :idle-timeout-ms)
  (testing "an unknown key is named, with the known ones"
    (let [[m data] (refusal ev/start-server (fn [_ l] l) {:prot 1})]
      (is (re-matches #"start-server: unknown option :prot; known options are :backlog .*" m))
      (is (= :prot (:key data)))
      (is (contains? (:known data) :port)))))

(deftest bad-handlers-and-client-options-too
  (let [[m data] (refusal ev/start-server 42 {:port 0})]
    (is (re-find #"start-server: handler must be a fn of \[conn line\].*got 42" m))
    (is (= :handler (:key data))))
  (let [[m] (refusal ev/start-server {:on-lien (fn [_ l] l)} {:port 0})]
    (is (re-find #"handler must be .* got \{:on-lien" m)))
  (is (= ["connect!: needs :port (with :host, default \"127.0.0.1\") or :path (a unix socket)" :port]
         (let [[m d] (refusal ev/connect! {})] [m (:key d)])))
  (is (= ":connect-timeout-ms" (-> (refusal ev/connect! {:port 1 :connect-timeout-ms 0}) second :key str)))
  (with-open [s (ev/start-server (fn [_ l] l) {:port 0})]
    (is (= [":timeout" ":timeout"] (let [[m d] (refusal ev/stop-server s {:timeout "soon"})]
                                      [(re-find #":timeout" m) (str (:key d))])))))

(deftest a-busy-port-names-the-port
  (with-open [s (ev/start-server (fn [_ l] l) {:port 0})]
    (let [[m data] (refusal ev/start-server (fn [_ l] l) {:port (:port s)})]
      (is (= (str "bind(127.0.0.1:" (:port s) "): EADDRINUSE (Address already in use)") m))
      (is (= {:errno-name "EADDRINUSE" :port (:port s) :key :port} (select-keys data [:errno-name :port :key]))))))

(deftest a-unix-path-in-a-missing-directory-is-named-as-given
  (let [path (str (System/getProperty "java.io.tmpdir") "/evloop-no-such-dir-" (System/nanoTime) "/x.sock")
        [m data] (refusal ev/start-server (fn [_ l] l) {:path path})]
    (is (= (str "bind(" path "): ENOENT (No such file or directory)") m))
    (is (= :path (:key data)))))

(deftest loop-connection-and-repl-arguments-are-checked-before-use
  (with-open [lp (ev/open-loop)
              s (ev/start-server (fn [_ l] l) {:port 0})]
    (are [f args k] (let [[m data] (apply refusal f args)]
                      (and (is (string? m) (str (pr-str f) " refused " (pr-str args)))
                           (is (= k (:key data)) m)))
      ev/loop-info [s] :loop
      ev/loop-info [nil] :loop
      ev/trace! [s true] :loop
      ev/run-once! [lp "10"] :timeout-ms
      ev/run-once! [lp -5] :timeout-ms
      ev/on-readable! [lp "5" (fn [_ _])] :fd
      ev/on-readable! [lp 5 "not a fn"] :f
      ev/on-writable! [lp 5 42] :f
      ev/remove! [lp nil] :fd
      ev/on-turn! [lp "x"] :f
      ev/execute! [lp nil] :f
      ev/schedule! [lp "100" (fn [])] :ms
      ev/schedule! [lp 10 :kw] :f
      ev/cancel! [nil] :task
      ev/decode-events [#{:in}] :events
      ev/decode-events [1.5] :events
      ev/close! ["a string"] :x
      ev/send! [s "hi"] :conn
      ev/close-connection! [nil] :conn
      ev/normalize-handler ["x"] :handler
      ev/normalize-handler [{:on-lines (fn [_ l] l)}] :handler
      repl/pause! [s] :loop
      repl/step! [lp -5] :timeout-ms
      repl/record-frames! [s "off"] :on?
      repl/recent-frames [s "5"] :fd
      repl/replay! [{:on-lines (fn [_ l] l)} ["a"]] :handler
      repl/replay! [(fn [_ l] l) "abc"] :lines
      blocking/handler [nil] :f
      blocking/write! [nil "x"] :ch
      eva/channel-info [{:in nil}] :conn
      eva/connect! [1] nil
      chicken/start ["0"] :port
      chicken/stop [nil] :server
      echo/start [0] :opts)
    (testing "what was refused left the loop as it was: it still turns"
      (is (= 0 (ev/run-once! lp 0)))))
  (testing "send! takes strings (any CharSequence), bytes and ByteBuffers, not what str would make of anything"
    (with-open [s (ev/start-server (fn [c l]
                                     (is (= :x (:key (second (refusal ev/send! c (map identity "seq"))))))
                                     (ev/send! c (StringBuilder. "built "))
                                     l)
                                   {:port 0})
                sock (connect (:port s))]
      (send-line sock "still answered")
      (is (= "built still answered" (.readLine (reader sock))))))
  (testing "what is meant to be called is taken: a Runnable, a record that implements IFn"
    (with-open [lp (ev/start-loop! (ev/open-loop))]
      (let [ran (promise)]
        (ev/execute! lp (reify Runnable (run [_] (deliver ran :runnable))))
        (is (= :runnable (deref ran 5000 :timeout))))
      (let [ran (promise)]
        (ev/schedule! lp 1 (->Task ran))
        (is (= :record (deref ran 5000 :timeout))))))
  (testing "close! closes a connection too, gracefully"
    (let [closed (promise)]
      (with-open [s (ev/start-server {:on-line (fn [c _] (ev/close! c) nil)
                                      :on-close (fn [_ cause] (deliver closed cause))}
                                     {:port 0})
                  sock (connect (:port s))]
        (send-line sock "bye")
        (is (= :local-close (deref closed 5000 :timeout)))))))

(deftest start-loop-returns-even-when-another-thread-turns-the-loop-meanwhile
  ;; A run-once! on another thread could take start-loop!'s task and leave it waiting
  ;; until the loop stopped (42 of 200 tries hung).
  (dotimes [_ 50]
    (with-open [lp (ev/open-loop)]
      (let [stop (atom false)
            turner (future (while (not @stop) (try (ev/run-once! lp 0) (catch Exception _))))
            started (future (try (ev/start-loop! lp) :started (catch clojure.lang.ExceptionInfo _ :refused)))]
        (is (not= :hung (deref started 5000 :hung)))
        (reset! stop true)
        @turner))))

(deftest a-loop-runs-on-one-thread-start-loop-again-is-refused
  (with-open [lp (ev/start-loop! (ev/open-loop))]
    (let [[m data] (refusal ev/start-loop! lp)]
      (is (re-find #"start-loop!: .*" m))
      (is (= :loop (:key data))))
    (is (= 3 @(let [p (promise)] (ev/execute! lp #(deliver p 3)) p)) "the first thread still runs it")))

(deftest everything-else-users-get-wrong-is-an-ex-info-too
  (are [f args k] (let [[m data] (apply refusal f args)]
                    (and (is (string? m) (str "refused: " (pr-str args)))
                         (is (= k (:key data)) m)))
    ev/start-server [(fn [_ l] l) {:path (apply str "/tmp/" (repeat 200 "x"))}] :path
    ev/start-server [(fn [_ l] l) {:path "@"}] :path
    ev/start-server [(fn [_ l] l) {:host "no-such-host.invalid" :port 0}] :host
    ev/start-server [(fn [_ l] l) {:loop (doto (ev/open-loop) ev/close!)}] :loop
    ev/start-server [(fn [_ l] l) {:path "/tmp/x.sock" :port 1}] :port
    ev/start-server [(fn [_ l] l) {:file-mode 0600 :port 0}] :file-mode
    ev/start-server [(fn [_ l] l) {:loops 2 :loop (ev/open-loop)}] :loops
    ev/start-server [(fn [_ l] l) {:high-watermark 1000}] :high-watermark
    ev/stop-server [nil] :server
    ev/server-status [nil] :server
    ev/swap-handler! [{:handler-ref 1} (fn [_ l] l)] :server
    ev/connect! [{:port 1 :local-host "no.such.invalid"}] :local-host
    ev/connect! [{:path (apply str "/tmp/" (repeat 200 "x"))}] :path
    ev/connect! [{:port 1 :local-port 70000}] :local-port
    ev/connect! [{:path "/tmp/x.sock" :local-port 5}] :local-port
    ev/utilization [(ev/open-loop) {:ms -1}] :ms
    ev/utilization [(ev/open-loop) {:ms "x"}] :ms)
  (with-open [s (ev/start-server (fn [_ l] l) {:port 0})]
    (are [opts k] (= k (:key (second (refusal ev/stop-server s opts))))
      {:timeout Long/MAX_VALUE} :timeout
      {:timeout 10000000000000000000N} :timeout
      {:timout 5} :timout
      5 nil)))
