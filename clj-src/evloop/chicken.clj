(ns evloop.chicken
  "The Chicken Scheme epoll echo server, translated literally onto evloop's
  loop: a listener fd and client fds, a read table and a write table keyed
  by fd, and one callback per turn, `fd-event-list-handler`, that receives
  the list of (fd . events) pairs. A readable listener accepts; a readable
  client is read, its complete lines go to its output and its interest flips
  to the write table; a writable client is written to and flips back.

  As in the seed, the program is hot-modifiable from the REPL: the loop calls
  `fd-event-list-handler` through its var every turn, and it calls
  `handle-accept`, `handle-read`, `handle-write` and `reply` through theirs,
  so re-evaluating any of these defns changes the running server on the
  connections already open:

      (in-ns 'evloop.chicken)
      (defn reply [line] (.toUpperCase ^String line))

  Unlike the original it calls back only when there are events, drops pairs
  of fds closed earlier in the same turn, and a failure ends only the client
  that failed (out of fds, accepting pauses). Sockets come from `evloop.net`,
  the public face of the native layer. For real servers use
  `evloop.core/start-server`; this is the seed, working.

  Run it: `dev/clj -M:chicken [--port P]` (6666 by default)."
  (:require [clojure.string :as str]
            [evloop.core :as ev]
            [evloop.impl.cli :as cli])
  (:import (evloop.net Fd Net)
           (java.net InetSocketAddress)
           (java.nio ByteBuffer)
           (java.nio.charset StandardCharsets)))

(set! *warn-on-reflection* true)

;; The server is a map the caller holds: {:loop :listener :port :clients :buf}.
;; :clients is an atom of fd -> {:fd Fd, :in bytes-of-a-partial-line,
;; :out bytes-waiting}: the Chicken program's two tables' data, in one value,
;; so reloading this namespace loses nothing.

(defn reply
  "What the server answers to one line (without its newline): the line itself."
  [line]
  line)

(defn- take-lines
  "Splits `bytes` after its last newline: [complete-lines-text rest-bytes]."
  [^bytes bytes]
  (let [cut (inc (loop [i (dec (alength bytes))]
                   (cond (neg? i) -1
                         (= 10 (aget bytes i)) i
                         :else (recur (dec i)))))]
    [(String. bytes 0 (int cut) StandardCharsets/UTF_8)
     (java.util.Arrays/copyOfRange bytes (int cut) (alength bytes))]))

(defn- concat-bytes ^bytes [^bytes a ^bytes b]
  (let [out (byte-array (+ (alength a) (alength b)))]
    (System/arraycopy a 0 out 0 (alength a))
    (System/arraycopy b 0 out (alength a) (alength b))
    out))

(defn- close-client!
  "Takes a client out of both tables and closes its fd: the server owns it."
  [{lp :loop clients :clients} fd]
  (ev/remove! lp fd)
  (when-let [{^Fd f :fd} (get @clients fd)]
    (.close f))
  (swap! clients dissoc fd))

(defn handle-accept
  "The listener is readable: accept every pending client into the read
  table. When accepting fails (out of fds, say), the listener leaves the
  read table for 100 ms instead of waking every turn."
  [{lp :loop ^Fd listener :listener clients :clients}]
  (try
    (loop []
      (when-let [^Fd c (Net/accept listener)]
        (try
          (ev/on-readable! lp (.fd c) (fn [_ _]))
          (swap! clients assoc (.fd c) {:fd c :in (byte-array 0) :out nil})
          (catch Exception _ (.close c)))
        (recur)))
    (catch java.io.IOException _
      (ev/on-readable! lp (.fd listener) nil)
      (ev/schedule! lp 100 #(when (.isOpen listener)
                                (ev/on-readable! lp (.fd listener) (fn [_ _])))))))

(defn handle-read
  "A client is readable: read, answer its complete lines through `reply`,
  and flip it from the read table to the write table."
  [{lp :loop clients :clients ^ByteBuffer buf :buf :as server} fd]
  (let [{^Fd f :fd in :in} (get @clients fd)
        n (.read f (.clear buf))]
    (cond
      (= n Net/WOULD_BLOCK) nil
      (zero? n) (close-client! server fd)
      :else
      (let [chunk (byte-array n)
            _ (.get (.flip buf) chunk)
            [text rest] (take-lines (concat-bytes in chunk))]
        (swap! clients assoc-in [fd :in] rest)
        (when (seq text)
          (let [out (apply str (map #(str (reply %) "\n") (str/split-lines text)))]
            (swap! clients assoc-in [fd :out] (.getBytes ^String out StandardCharsets/UTF_8))
            ;; After a read the socket is ready for writing to.
            (ev/on-readable! lp fd nil)
            (ev/on-writable! lp fd (fn [_ _]))))))))

(defn handle-write
  "A client is writable: write what waits, and once all of it is gone flip
  the client back from the write table to the read table."
  [{lp :loop clients :clients ^ByteBuffer buf :buf} fd]
  (let [{^Fd f :fd ^bytes out :out} (get @clients fd)
        b (doto (.clear buf) (.put out 0 (int (min (alength out) (.capacity buf)))) (.flip))
        n (.send f b)]
    (if (or (= n Net/WOULD_BLOCK) (< n (alength out)))
      (swap! clients assoc-in [fd :out] (java.util.Arrays/copyOfRange out (int (max 0 n)) (alength out)))
      ;; After a write the socket is ready for reading from.
      (do (swap! clients assoc-in [fd :out] nil)
          (ev/on-writable! lp fd nil)
          (ev/on-readable! lp fd (fn [_ _]))))))

(defn fd-event-list-handler
  "The per-turn callback: every (fd events) pair of one epoll_wait. A client
  whose step throws is closed; the others, and the listener, go on."
  [{:keys [^Fd listener clients] :as server} pairs]
  (doseq [[fd events] pairs]
    (cond
      (= fd (.fd listener)) (handle-accept server)
      (not (contains? @clients fd)) nil
      :else (try
              (cond
                (:out events) (handle-write server fd)
                (some events [:in :hup :err :rdhup]) (handle-read server fd))
              (catch Exception _
                (close-client! server fd))))))

(defn start
  "Runs the echo server on 127.0.0.1:`port` (0: any free port) on a loop
  thread of its own; returns the server map, whose :port is the bound port.
  Stop it with `stop`."
  [port]
  (let [listener (Net/listen (InetSocketAddress. "127.0.0.1" (int port)) 1024)
        lp (ev/open-loop)
        server {:loop lp :listener listener :clients (atom {})
                ;; One buffer for every read and write: the loop runs one step at a time.
                :buf (ByteBuffer/allocateDirect 65536)
                :port (.getPort (Net/localAddress listener))}]
    (ev/on-readable! lp (.fd listener) (fn [_ _]))
    ;; Through the var, every turn: redefining fd-event-list-handler applies at once.
    (ev/on-turn! lp (fn [pairs] (fd-event-list-handler server pairs)))
    (ev/start-loop! lp)
    server))

(defn stop
  "Stops the loop, then closes the listener and every client: the fds the
  server owns."
  [{lp :loop ^Fd listener :listener clients :clients}]
  (ev/close! lp)
  (.close listener)
  (doseq [{^Fd f :fd} (vals @clients)]
    (.close f))
  (reset! clients {}))

(defn -main
  "Runs the seed server until Ctrl-C: `dev/clj -M:chicken [--port P]`."
  [& args]
  (let [{:keys [port]} (cli/parse "evloop.chicken" "usage: dev/clj -M:chicken [--port P]"
                                  {"--port" [:port cli/port]} {:port 6666} args)
        server (try (start port)
                    (catch Exception e
                      (cli/die! "evloop.chicken" (str "cannot listen on 127.0.0.1:" port ": " (ex-message e)))))]
    (println (str "evloop chicken (seed) echo server on 127.0.0.1:" (:port server)))
    (.addShutdownHook (Runtime/getRuntime) (Thread. ^Runnable #(stop server)))
    @(promise)))
