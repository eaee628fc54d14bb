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
  (:require [evloop.impl.handler :as h]
            [evloop.impl.options :as options])
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
  (options/arg! "evloop.blocking/handler" :f f [h/callable? "a fn of [channel] or a var holding one"])
  (BlockingSessions/handler (reify BlockingSessions$Session (run [_ ch] (f ch)))))

(defn- channel! [f ch]
  (options/arg! f :ch ch [#(instance? BlockingSessions$LineChannel %)
                          "the channel a session fn is given (evloop.tcp.BlockingSessions$LineChannel)"]))

(defn read-line!
  "The next line (with its newline), parking the virtual thread until it
  arrives; nil at end of stream."
  [ch]
  (.readLine ^BlockingSessions$LineChannel (channel! "read-line!" ch)))

(defn write!
  "Sends a string (UTF-8) or a byte array on the channel's connection."
  [ch x]
  (channel! "write!" ch)
  (cond (string? x) (.write ^BlockingSessions$LineChannel ch ^String x)
        (bytes? x) (.write ^BlockingSessions$LineChannel ch ^bytes x)
        :else (throw (options/bad "write!" :x x "a string or a byte array"))))
