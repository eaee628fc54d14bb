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
