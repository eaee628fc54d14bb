(ns evloop.echo-test
  (:require [clojure.string :as str]
            [clojure.test :refer [deftest is testing]]
            [evloop.core :as ev]
            [evloop.test-util :refer [connect reader send-line]]
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
