(ns evloop.blocking
  "Blocking-style connection code on virtual threads (JDK 21+), the gevent idea
  from evloop's seeds: `(handler f)` runs `(f ch)` on a virtual thread per
  connection; `read-line!` parks it until the loop delivers a line, `write!`
  hands bytes to the loop. Pass the handler to `evloop.core/start-server`:

      (ev/start-server (handler (fn [ch]
                                  (loop []
                                    (when-let [line (read-line! ch)]
                                      (write! ch (str \"you said \" line))
                                      (recur)))))
                       {:port 0})

  On JDK 17 `handler` throws UnsupportedOperationException."
  (:import (evloop.tcp BlockingSessions BlockingSessions$LineChannel BlockingSessions$Session)))

(set! *warn-on-reflection* true)

(defn available?
  "True when this JVM has virtual threads."
  []
  (BlockingSessions/available))

(defn handler
  "A server handler running `(f channel)` on a virtual thread per connection;
  the connection closes when `f` returns."
  [f]
  (BlockingSessions/handler (reify BlockingSessions$Session (run [_ ch] (f ch)))))

(defn read-line!
  "The next line (with its newline), parking the virtual thread until it
  arrives; nil at end of stream."
  [^BlockingSessions$LineChannel ch]
  (.readLine ch))

(defn write!
  "Sends a string (UTF-8) on the channel's connection."
  [^BlockingSessions$LineChannel ch ^String s]
  (.write ch s))
