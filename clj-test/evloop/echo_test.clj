(ns evloop.echo-test
  (:require [clojure.string :as str]
            [clojure.test :refer [deftest is testing]]
            [evloop.core :as ev]
            [evloop.test-util :refer [connect reader send-line wait-until]]
            [evloop.echo :as echo])
  (:import (java.net InetSocketAddress ServerSocket)))

(deftest echo-over-a-real-socket
  (with-open [server (echo/start {:port 0})
              s (connect (:port server))]
    (let [r (reader s)]
      (send-line s "hello")
      (is (= "hello" (.readLine r)))
      (send-line s "héllo wörld")
      (is (= "héllo wörld" (.readLine r))))))

(deftest server-info-and-recent-turns-describe-the-connection
  (with-open [server (echo/start {:port 0})
              s (connect (:port server))]
    (let [loop (ev/server-loop server)
          r (reader s)]
      (ev/trace! loop true)
      (send-line s "observed")
      (is (= "observed" (.readLine r)))
      (let [info (ev/server-info server)
            [c] (:connections info)]
        (is (= 1 (get-in info [:stats :active])))
        (is (= {:state :open :bytes-in 9 :bytes-out 9 :frames-in 1 :buffered-in 0
                :queued-out 0 :read-paused? false}
               (select-keys c [:state :bytes-in :bytes-out :frames-in :buffered-in :queued-out :read-paused?])))
        (is (= (str "127.0.0.1:" (.getLocalPort s)) (:peer c)))
        (is (some #(= #{:read} (:tables %)) (get-in info [:loop :fds])))
        (is (some (fn [{:keys [pairs]}] (some #(= [(:fd c) #{:in}] %) pairs))
                  (ev/recent-turns loop))
            "the ring buffer holds the pair the line caused")))))

(deftest swap-handler-and-handler-maps
  (let [closed (promise)]
    (with-open [server (ev/start-server (fn [_ line] line) {:port 0})
                s (connect (:port server))]
      (let [r (reader s)]
        (send-line s "one")
        (is (= "one" (.readLine r)))
        (ev/swap-handler! server {:on-line (fn [conn line] (ev/send! conn (str "> " line)) nil)
                                  :on-close (fn [_ cause] (deliver closed cause))})
        (send-line s "two")
        (is (= "> two" (.readLine r)))
        (testing "to a Java TcpHandler and back"
          (ev/swap-handler! server (reify evloop.tcp.TcpHandler
                                     (onMessage [_ conn _] (ev/send! conn "java\n"))))
          (send-line s "three")
          (is (= "java" (.readLine r)))
          (ev/swap-handler! server {:on-line (fn [_ line] (str ">> " line))
                                    :on-close (fn [_ cause] (deliver closed cause))})
          (send-line s "four")
          (is (= ">> four" (.readLine r))))
        (.shutdownOutput s)
        (is (= :peer-closed (deref closed 5000 :timeout)))))))

(deftest stopping-twice-is-fine-and-frees-the-port
  (let [server (echo/start {:port 0})
        port (:port server)]
    (echo/stop server)
    (echo/stop server)
    (with-open [ss (ServerSocket.)]
      (.setReuseAddress ss true)
      (.bind ss (InetSocketAddress. "127.0.0.1" (int port)))
      (is (.isBound ss)))))

(deftest the-running-echo-server-is-in-reach-and-survives-a-reload
  (let [s (echo/start {:port 0})]
    (try
      (is (identical? s @echo/server))
      (is (= (:port s) (:port (ev/server-info @echo/server))))
      (require 'evloop.echo :reload)
      (is (identical? s @echo/server) "a defonce: reloading keeps it")
      (finally (echo/stop s)))
    (is (nil? @echo/server) "stop clears it"))
  (let [s (echo/start {:port 0})]
    (.close ^java.io.Closeable s)
    (is (wait-until #(nil? @echo/server) 5000) "cleared however it stops")))

(deftest a-server-survives-a-reload-of-evloop-core
  ;; (reset) in dev/user.clj reloads evloop.core: the server a REPL holds must
  ;; still be a server to every function afterwards. Reloading the namespace of
  ;; its record too (as :reload-all does) makes a new Server class: it is still one.
  (let [s (echo/start {:port 0})]
    (try
      (require 'evloop.core :reload)
      (require 'evloop.impl.server :reload)
      (is (= (:port s) (:port (ev/server-info @echo/server))) "server-info on the value held before the reload")
      (is (= :running (ev/server-status s)))
      (with-open [c (connect (:port s))]
        (send-line c "after reload")
        (is (= "after reload" (.readLine (reader c)))))
      (is (re-find #"^#<evloop server 127\.0\.0\.1:" (pr-str s)))
      (is (= :stopped (deref (ev/stop-server s) 10000 :timeout)) "stop-server on it")
      (finally (echo/stop s)))))

(deftest server-lifecycle-status-stop-with-a-grace-period-and-info-after
  (let [s (ev/start-server (fn [_ l] l) {:port 0})]
    (is (= :running (ev/server-status s)))
    (with-open [c (connect (:port s))]
      (send-line c "hi")
      (is (= "hi" (.readLine (reader c)))))
    (let [stopped (ev/stop-server s {:timeout 1000})]
      (is (contains? #{:stopping :stopped} (ev/server-status s)))
      (is (= :stopped (deref stopped 10000 :timeout)))
      (is (= :stopped (ev/server-status s)))
      (is (= :stopped @(ev/stop-server s)) "idempotent"))
    (let [info (ev/server-info s)]
      (is (= {:status :stopped :connections []} (select-keys info [:status :connections])))
      (is (= 1 (get-in info [:stats :accepted])) "the counters still answer"))))

(deftest values-print-as-short-summaries-not-readable-literals
  (with-open [s (echo/start {:port 0})
              c (connect (:port s))]
    (send-line c "x")
    (.readLine (reader c))
    (let [printed (pr-str s)
          lp (pr-str (ev/server-loop s))
          conn (pr-str (.get (.openConnections ^evloop.tcp.TcpServer (:tcp s)) 0))]
      (is (= (str "#<evloop server 127.0.0.1:" (:port s) ", running, 1 connections>") printed))
      (is (re-matches #"#<EventLoop running on evloop-\d+-0, 2 fds, \d+ turns>" lp) lp)
      (is (re-matches #"#<Connection fd \d+ from 127\.0\.0\.1:\d+, open>" conn) conn)
      (is (thrown? Exception (read-string printed)) "#< is unreadable on purpose: no tagged literal pretended"))))

(deftest stop-clears-the-echo-atom-before-it-returns-and-a-second-start-is-refused
  (dotimes [_ 50]
    (let [s (echo/start {:port 0})]
      (echo/stop s)
      (is (nil? @echo/server))))
  (let [s (echo/start {:port 0})]
    (try
      (is (= :server (:key (ex-data (try (echo/start {:port 0}) nil
                                         (catch clojure.lang.ExceptionInfo e e)))))
          "one echo server in reach at a time")
      (finally (echo/stop s)))))

(deftest swap-handler-takes-a-java-handler-and-back
  (with-open [server (ev/start-server (fn [_ line] line) {:port 0})
              s (connect (:port server))]
    (let [r (reader s)]
      (ev/swap-handler! server (reify evloop.tcp.TcpHandler
                                 (onMessage [_ c f] (.send c (.getBytes "java\n")))))
      (send-line s "x")
      (is (= "java" (.readLine r)))
      (ev/swap-handler! server (fn [_ line] (str "clj " line)))
      (send-line s "y")
      (is (= "clj y" (.readLine r)))
      (is (= 1 (get-in (ev/server-info server) [:stats :accepted]))))))

(deftest server-info-answers-while-the-server-stops
  (dotimes [_ 20]
    (let [s (ev/start-server (fn [_ l] l) {:port 0 :loops 2})
          errors (atom [])
          done (atom false)
          poller (future (while (not @done)
                           (try (ev/server-info s)
                                (catch Throwable t (swap! errors conj t)))))]
      (is (= :stopped (deref (ev/stop-server s {:timeout 0}) 10000 :timeout)))
      (reset! done true)
      @poller
      (is (= [] (mapv str @errors))))))

(defn- java-reply
  "A Java TcpHandler answering every line with `word`."
  [word]
  (reify evloop.tcp.TcpHandler
    (onMessage [_ c _] (.send ^evloop.tcp.Connection c (.getBytes (str word "\n"))))))

(def ^:private java-handler-in-a-var (java-reply "java"))

(deftest a-var-holding-a-java-handler-is-looked-up-per-event
  (let [original java-handler-in-a-var]
    (try
      (with-open [server (ev/start-server #'java-handler-in-a-var {:port 0})
                  s (connect (:port server))]
        (let [r (reader s)]
          (send-line s "x")
          (is (= "java" (.readLine r)))
          (alter-var-root #'java-handler-in-a-var (constantly (java-reply "java again")))
          (send-line s "y")
          (is (= "java again" (.readLine r)) "redefined: the open connection sees it")
          (alter-var-root #'java-handler-in-a-var (constantly (fn [_ line] (str "clj " line))))
          (send-line s "z")
          (is (= "clj z" (.readLine r)) "and a Clojure fn in the same var")
          (alter-var-root #'java-handler-in-a-var (constantly (reify evloop.tcp.TextHandler
                                                                 (onText [_ c text _] (ev/send! c (str "text " text))))))
          (send-line s "w")
          (is (= "text w" (.readLine r)) "a TextHandler gets the decoded line")
          (testing "connect! takes such a var too"
            (let [got (promise)]
              (alter-var-root #'java-handler-in-a-var
                              (constantly (reify evloop.tcp.TcpHandler
                                            (onMessage [_ _ frame]
                                              (let [b (byte-array (.remaining ^java.nio.ByteBuffer frame))]
                                                (.get ^java.nio.ByteBuffer frame b)
                                                (deliver got (String. b "UTF-8")))))))
              (with-open [echo (ev/start-server (fn [_ line] line) {:port 0})]
                (let [c (ev/connect! {:port (:port echo)} #'java-handler-in-a-var)]
                  (try
                    (ev/send! c "round trip\n")
                    (is (= "round trip\n" (deref got 5000 :timeout)))
                    (finally (ev/close-connection! c)))))))))
      (finally (alter-var-root #'java-handler-in-a-var (constantly original))))))

(deftest send-uses-the-server-charset-on-connections-accepted-under-a-java-handler
  (with-open [server (ev/start-server (fn [_ line] line) {:port 0 :charset "ISO-8859-1"})]
    (ev/swap-handler! server (java-reply "java"))
    (with-open [s (connect (:port server))]
      (let [in (.getInputStream s)]
        (send-line s "x")
        (is (= "java\n" (String. (.readNBytes in 5) "ISO-8859-1")) "accepted while the Java handler ran")
        (ev/swap-handler! server (fn [conn _] (ev/send! conn "é\n") nil))
        (send-line s "y")
        (is (= [(unchecked-byte 0xE9) 10] (vec (.readNBytes in 2)))
            "send! encodes in the server's :charset, ISO-8859-1, not UTF-8")))))

(defn- config-field
  "A field of a ServerConfig, which has setters only."
  [^evloop.tcp.ServerConfig cfg field]
  (.get (doto (.getDeclaredField evloop.tcp.ServerConfig field) (.setAccessible true)) cfg))

(deftest start-server-takes-only-a-handler
  ;; Its default address is 127.0.0.1:6666, which tests never bind: the config
  ;; start-server resolves from no options is read, then moved to port 0.
  (let [resolve-config evloop.impl.options/server-config
        resolved (atom nil)]
    (with-redefs [evloop.impl.options/server-config
                  (fn [opts]
                    (let [^evloop.tcp.ServerConfig cfg (resolve-config opts)]
                      (reset! resolved [(config-field cfg "host") (config-field cfg "port")])
                      (.port cfg 0)))]
      (with-open [server (ev/start-server (fn [_ line] (str "only " line)))
                  s (connect (:port server))]
        (is (= ["127.0.0.1" 6666] @resolved) "the defaults: loopback, port 6666")
        (is (= "127.0.0.1" (:host server)))
        (send-line s "a handler")
        (is (= "only a handler" (.readLine (reader s))))))))
