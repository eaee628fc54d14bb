(ns evloop.chicken-test
  (:require [clojure.test :refer [deftest is testing]]
            [evloop.chicken :as chicken]
            [evloop.core :as ev]
            [evloop.test-util :refer [connect reader send-line wait-until]])
  (:import (java.io FileInputStream IOException)
           (java.util ArrayList)))

(deftest the-chicken-translation-echoes
  (let [srv (chicken/start 0)]
    (try
      (with-open [s (connect (:port srv))]
        (let [r (reader s)]
          (send-line s "from the seed")
          (is (= "from the seed" (.readLine r)))
          (doto (.getOutputStream s) (.write (.getBytes "a\nb")) (.flush))
          (is (= "a" (.readLine r)))
          (send-line s "c")
          (is (= "bc" (.readLine r)))))
      (finally (chicken/stop srv)))))

(defn- events [srv]
  (get-in (ev/loop-info (:loop srv)) [:stats :events]))

(deftest a-failed-accept-closes-no-listener
  (let [srv (chicken/start 0)
        hog (ArrayList.)]
    (try
      (with-open [first-client (connect (:port srv))]
        (send-line first-client "warm")
        (is (= "warm" (.readLine (reader first-client))))
        (let [before (events srv)]
          (try
            ;; Take every fd but one, which the next client's socket gets: the server's
            ;; accept then fails with EMFILE.
            (try (loop [] (.add hog (FileInputStream. "/dev/null")) (recur))
                 (catch IOException _))
            (.close ^FileInputStream (.remove hog (dec (.size hog))))
            (with-open [_late (connect (:port srv))]
              (is (wait-until #(> (events srv) before) 5000) "the server tried to accept"))
            (finally
              (doseq [^FileInputStream f hog] (.close f)))))
        (with-open [s (connect (:port srv))]
          (send-line s "still listening")
          (is (= "still listening" (.readLine (reader s))) "the listener survived the failed accept")))
      (finally (chicken/stop srv)))))

(deftest redefining-a-step-changes-the-running-seed-server
  (let [srv (chicken/start 0)
        original @#'chicken/reply]
    (try
      (with-open [s (connect (:port srv))]
        (let [r (reader s)]
          (send-line s "before")
          (is (= "before" (.readLine r)))
          (alter-var-root #'chicken/reply (constantly (fn [line] (str "> " line))))
          (send-line s "after")
          (is (= "> after" (.readLine r)) "the same connection gets the new reply")))
      (finally
        (alter-var-root #'chicken/reply (constantly original))
        (chicken/stop srv)))))

(deftest the-seed-reaches-sockets-through-the-public-api-only
  (is (empty? (filter #(.startsWith (.getName ^Class %) "evloop.sys.")
                      (vals (ns-imports 'evloop.chicken))))))

(defn- read-bytes
  "Reads exactly `n` bytes, or fewer if the stream ends first."
  [^java.net.Socket s n]
  (vec (.readNBytes (.getInputStream s) (int n))))

(defn- bytes-of [& xs]
  (vec (mapcat #(if (string? %) (.getBytes ^String % "UTF-8") [(unchecked-byte %)]) xs)))

(deftest the-echo-is-byte-faithful
  (let [srv (chicken/start 0)]
    (try
      (with-open [s (connect (:port srv))]
        (let [out (.getOutputStream s)]
          (testing "blank lines, trailing ones too"
            (.write out (.getBytes "x\n\n\ny\n\n"))
            (is (= (bytes-of "x\n\n\ny\n\n") (read-bytes s 7))))
          (testing "a carriage return stays"
            (.write out (.getBytes "a\r\n"))
            (is (= (bytes-of "a\r\n") (read-bytes s 3))))
          (testing "bytes that are not UTF-8 come back as they were"
            (.write out (byte-array [(unchecked-byte 0xff) (unchecked-byte 0xfe) 10]))
            (is (= (bytes-of 0xff 0xfe 10) (read-bytes s 3))))))
      (finally (chicken/stop srv)))))

(deftest a-line-over-64-kib-ends-that-client-only
  (let [srv (chicken/start 0)]
    (try
      (with-open [other (connect (:port srv))
                  s (connect (:port srv))]
        (.write (.getOutputStream s) (.getBytes "ok\n"))
        (is (= (bytes-of "ok\n") (read-bytes s 3)))
        (.write (.getOutputStream s) (byte-array (+ 65536 10) (byte 97)))
        (is (= "error: line longer than 65536 bytes" (.readLine (reader s))))
        (is (= -1 (try (.read (.getInputStream s)) (catch java.net.SocketException _ -1)))
            "then that client is closed")
        (is (wait-until #(= 1 (count @(:clients srv))) 5000) "and its buffer dropped")
        (send-line other "still here")
        (is (= "still here" (.readLine (reader other))) "the other client goes on"))
      (finally (chicken/stop srv)))))

(deftest redefining-the-per-turn-handler-changes-the-running-seed-server
  (let [srv (chicken/start 0)
        original @#'chicken/fd-event-list-handler
        seen (atom #{})]
    (try
      (with-open [s (connect (:port srv))]
        (let [r (reader s)]
          (send-line s "before")
          (is (= "before" (.readLine r)))
          (alter-var-root #'chicken/fd-event-list-handler
                          (constantly (fn [server pairs]
                                        (swap! seen into (map first) pairs)
                                        (original server pairs))))
          (send-line s "after")
          (is (= "after" (.readLine r)))
          (is (seq (remove #{(.fd ^evloop.net.Fd (:listener srv))} @seen))
              "the open connection's turns went through the new per-turn handler")))
      (finally
        (alter-var-root #'chicken/fd-event-list-handler (constantly original))
        (chicken/stop srv)))))

(deftest the-running-seed-server-is-in-reach
  (let [srv (chicken/start 0)]
    (try
      (is (identical? srv @chicken/server))
      (require 'evloop.chicken :reload)
      (is (identical? srv @chicken/server) "a defonce: reloading keeps it")
      (finally (chicken/stop srv)))
    (is (nil? @chicken/server) "stop clears it")))
