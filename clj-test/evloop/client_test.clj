(ns evloop.client-test
  (:require [clojure.string :as str]
            [clojure.test :refer [deftest is testing]]
            [evloop.core :as ev]
            [evloop.test-util :refer [wait-until]])
  (:import (java.net ServerSocket)
           (java.nio.file Files)
           (java.nio.file.attribute FileAttribute)))

(defn- collecting []
  (let [got (java.util.concurrent.LinkedBlockingQueue.)]
    [got {:on-line (fn [_ line] (.add got line) nil)}]))

(defn- id-of
  "This process's effective uid or gid (`which`: \"Uid\" or \"Gid\"), from /proc/self/status."
  [which]
  (some (fn [^String l] (when (.startsWith l (str which ":")) (parse-long (nth (str/split l #"\s+") 2))))
        (Files/readAllLines (.toPath (java.io.File. "/proc/self/status")))))

(defn- next-line [^java.util.concurrent.LinkedBlockingQueue q]
  (.poll q 10 java.util.concurrent.TimeUnit/SECONDS))

(deftest connect-sends-and-receives-lines-through-a-server
  (with-open [server (ev/start-server (fn [_ line] (str "> " line)) {:port 0})]
    (let [[got handler] (collecting)
          c (ev/connect! {:port (:port server)} handler)]
      (try
        (ev/send! c "hi\n")
        (is (= "> hi\n" (next-line got)))
        (ev/send! c "héllo\n")
        (is (= "> héllo\n" (next-line got)))
        (testing "the connection is data, with its direction, on both sides"
          (is (= [:inbound] (map :direction (ev/connections server))))
          (is (not-any? #(contains? % :pid) (ev/connections server)) "no peer credentials over TCP")
          (is (some #(= :outbound (:direction %)) (:connections (ev/loop-info (.loop c))))))
        (finally (ev/close-connection! c))))))

(deftest a-local-port-alone-binds-that-port-on-the-wildcard-address
  (let [port (with-open [free (ServerSocket. 0)] (.getLocalPort free))]   ; free again once closed
    (with-open [server (ev/start-server (fn [_ _] nil) {:port 0})]
      (let [c (ev/connect! {:port (:port server) :local-port port})]
        (try
          (is (wait-until #(= (str "127.0.0.1:" port) (first (map :peer (ev/connections server)))) 5000)
              "the server sees the connection come from that port")
          (finally (ev/close-connection! c)))))))

(deftest a-redefined-var-applies-to-an-open-client-connection
  (let [seen (atom [])
        v (intern *ns* 'live-handler (fn [_ line] (swap! seen conj [:old line]) nil))]
    (with-open [server (ev/start-server (fn [_ line] line) {:port 0})]
      (let [c (ev/connect! {:port (:port server)} v)]
        (try
          (ev/send! c "one\n")
          (is (wait-until #(= [[:old "one\n"]] @seen) 5000))
          (alter-var-root v (constantly (fn [_ line] (swap! seen conj [:new line]) nil)))
          (ev/send! c "two\n")
          (is (wait-until #(= [[:old "one\n"] [:new "two\n"]] @seen) 5000))
          (finally (ev/close-connection! c)))))))

(deftest handler-output-goes-to-the-out-of-whoever-called-connect
  (with-open [server (ev/start-server (fn [_ line] line) {:port 0})]
    (let [out (java.io.StringWriter.)
          c (binding [*out* out]
              (ev/connect! {:port (:port server)} {:on-line (fn [_ l] (print "got" l) (flush))}))]
      (try
        (ev/send! c "hi\n")
        (is (wait-until #(= "got hi\n" (str out)) 5000) "as at the REPL: (ev/send! c \"hi\\n\") prints got hi")
        (finally (ev/close-connection! c))))))

(deftest connect-over-a-unix-socket-and-shared-loops
  (let [dir (Files/createTempDirectory "evloop" (make-array FileAttribute 0))
        path (str (.resolve dir "echo.sock"))
        lp (ev/start-loop! (ev/open-loop))]
    (try
      (with-open [server (ev/start-server (fn [_ line] line) {:path path :loop lp})]
        (is (= path (:path server)))
        (let [[got handler] (collecting)
              c (ev/connect! {:path path :loop lp} handler)]
          (ev/send! c "over unix\n")
          (is (= "over unix\n" (next-line got)))
          (is (= (str "unix:" path) (:peer (first (ev/connections server)))))
          (testing "peer credentials, on both ends: this process"
            (let [self {:pid (.pid (java.lang.ProcessHandle/current)) :uid (id-of "Uid") :gid (id-of "Gid")}]
              (is (= self (select-keys (first (ev/connections server)) [:pid :uid :gid])))
              (is (= [self self] (map #(select-keys % [:pid :uid :gid]) (:connections (ev/loop-info lp)))))))
          (is (= #{:inbound :outbound} (set (map :direction (:connections (ev/loop-info lp)))))
              "client and server on one loop")
          (ev/close-connection! c)))
      (is (not (.exists (java.io.File. path))) "the socket file went with the server")
      (finally (ev/close! lp)))))

(deftest connect-failures-are-ex-info-naming-target-and-errno
  (let [port (with-open [s (ServerSocket. 0)] (.getLocalPort s))
        e (try (ev/connect! {:port port}) nil (catch clojure.lang.ExceptionInfo e e))]
    (is (= (str "connect(127.0.0.1:" port "): ECONNREFUSED (Connection refused)") (ex-message e)))
    (is (= {:syscall "connect" :errno-name "ECONNREFUSED" :port port}
           (select-keys (ex-data e) [:syscall :errno-name :port]))))
  (let [e (try (ev/connect! {:host "no-such-host.invalid" :port 80}) nil (catch clojure.lang.ExceptionInfo e e))]
    (is (= "connect(no-such-host.invalid:80): cannot resolve no-such-host.invalid" (ex-message e)))
    (is (= :host (:key (ex-data e))))))

(defn- fill-backlog
  "Connects to `listener` until its backlog is full; returns the sockets."
  [^ServerSocket listener]
  (loop [held []]
    (let [s (java.net.Socket.)
          ok (try (.connect s (.getLocalSocketAddress listener) 200) true
                  (catch java.io.IOException _ (.close s) false))]
      (if (and ok (< (count held) 8)) (recur (conj held s)) held))))

(defn- open-fds [] (count (.list (java.io.File. "/proc/self/fd"))))

(deftest an-interrupted-connect-keeps-the-interrupt-and-lets-go-of-the-attempt
  (with-open [full (ServerSocket. 0 1 (java.net.InetAddress/getLoopbackAddress))]
    (let [fillers (fill-backlog full)
          before (open-fds)
          outcome (promise)
          t (Thread. ^Runnable
                     (fn []
                       (let [e (try (ev/connect! {:port (.getLocalPort full) :connect-timeout-ms 60000}) nil
                                    (catch clojure.lang.ExceptionInfo e e))]
                         (deliver outcome {:e e :interrupted? (Thread/interrupted)}))))]
      (try
        (.start t)
        ;; Its own loop (epoll fd, eventfd) and the connect's socket: under way.
        (is (wait-until #(>= (open-fds) (+ before 3)) 5000))
        (.interrupt t)
        (let [{:keys [e interrupted?]} (deref outcome 10000 nil)]
          (is interrupted? "the interrupt status survives the ex-info")
          (is (instance? InterruptedException (ex-cause e)))
          (is (re-find #"interrupted" (str (ex-message e))) (ex-message e)))
        (is (wait-until #(<= (open-fds) before) 5000)
            "its socket and its loop are released without waiting for the connect timeout")
        (finally
          (.interrupt t)
          (run! #(.close ^java.io.Closeable %) fillers))))))

(deftest timeouts-from-clojure-with-their-own-cause
  (let [closed (promise)]
    (with-open [server (ev/start-server {:on-line (fn [_ l] l) :on-close (fn [_ cause] (deliver closed cause))}
                                        {:port 0 :idle-timeout-ms 200})]
      (let [c (ev/connect! {:port (:port server)})]
        (is (= :idle-timeout (deref closed 10000 :none)))
        (is (wait-until #(not (.isOpen ^evloop.tcp.Connection c)) 5000) "the client saw it close")))))

(deftest client-side-timeouts-from-connect-options
  ;; The server has none: the client's own read and idle timeouts close the connection.
  (with-open [server (ev/start-server (fn [_ l] l) {:port 0})]
    (doseq [[opt cause] [[:read-timeout-ms :read-timeout] [:idle-timeout-ms :idle-timeout]]]
      (let [closed (promise)
            c (ev/connect! {:port (:port server) opt 200} {:on-close (fn [_ why] (deliver closed why))})]
        (is (= cause (deref closed 10000 :none)))
        (is (wait-until #(zero? (get-in (ev/server-info server) [:stats :active])) 5000) "the server saw it go")))))

(deftest set-timeouts-changes-an-open-connection
  (with-open [server (ev/start-server (fn [_ l] l) {:port 0})]
    (let [closed (promise)
          c (ev/connect! {:port (:port server) :write-timeout-ms 60000} {:on-close (fn [_ why] (deliver closed why))})
          err (fn [f] (try (f) nil (catch clojure.lang.ExceptionInfo e (ex-data e))))
          mine #(first (filter (comp #{:outbound} :direction) (:connections (ev/loop-info (.loop ^evloop.tcp.Connection c)))))]
      (testing "bad input is an ex-info naming the key"
        (is (= :idle-timeout-ms (:key (err #(ev/set-timeouts! c {:idle-timeout-ms -1})))))
        (is (= :read-timeout-ms (:key (err #(ev/set-timeouts! c {:read-timeout-ms "1s"})))))
        (is (= :idle (:key (err #(ev/set-timeouts! c {:idle 5})))))
        (is (= :conn (:key (err #(ev/set-timeouts! server {:idle-timeout-ms 5})))))
        (is (= 60000 (:write-timeout-ms (mine))) "nothing was changed"))
      (is (identical? c (ev/set-timeouts! c {:idle-timeout-ms 200 :read-timeout-ms 0})))
      (is (= {:idle-timeout-ms 200 :write-timeout-ms 60000} (select-keys (mine) [:idle-timeout-ms :read-timeout-ms :write-timeout-ms]))
          "a key left out keeps its value; 0 turns one off")
      (is (= :idle-timeout (deref closed 10000 :none))))))

(deftest connect-refuses-to-block-a-loop-thread-or-wait-on-a-loop-nobody-runs
  (let [lp (ev/open-loop)]
    (try
      (is (= :loop (:key (ex-data (try (ev/connect! {:port 1 :loop lp}) nil
                                       (catch clojure.lang.ExceptionInfo e e))))))
      (finally (ev/close! lp))))
  (let [seen (promise)]
    (with-open [server (ev/start-server {:on-connect (fn [_]
                                                      (deliver seen (try (ev/connect! {:port 1}) :connected
                                                                         (catch clojure.lang.ExceptionInfo e (ex-message e)))))
                                         :on-line (fn [_ l] l)}
                                        {:port 0})
                _ (evloop.test-util/connect (:port server))]
      (is (re-find #"cannot run on a loop thread" (str (deref seen 5000 :none)))))))
