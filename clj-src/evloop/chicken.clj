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

  The echo is byte for byte: blank lines, carriage returns and bytes that
  are not UTF-8 come back as they came, unless `reply` changes the line. A
  line longer than `max-line` gets an error line and ends that client.

  `server` holds the server `start` (or `-main`) runs, so a REPL connected to
  `dev/clj -M:chicken` reaches it: `(:clients @evloop.chicken/server)`.

  Run it: `dev/clj -M:chicken [--port P] [--nrepl-port N | --no-nrepl]`
  (6666 by default, with nREPL on 7888 beside it, as `dev/clj -M:echo`)."
  (:require [evloop.core :as ev]
            [evloop.echo :as echo]
            [evloop.impl.cli :as cli]
            [evloop.impl.options :as options])
  (:import (evloop.net Fd Net)
           (java.io ByteArrayOutputStream)
           (java.net InetSocketAddress)
           (java.nio ByteBuffer)
           (java.nio.charset StandardCharsets)
           (java.util Arrays)))

(set! *warn-on-reflection* true)

;; The server is a map the caller holds: {:loop :listener :port :clients :buf}.
;; :clients is an atom of fd -> {:fd Fd, :in bytes-of-a-partial-line,
;; :out bytes-waiting}: the Chicken program's two tables' data, in one value,
;; so reloading this namespace loses nothing.

(defonce ^{:doc "The running seed server (what `start` or `-main` started last), nil once
  `stop` stopped it. A defonce, so reloading this namespace keeps it."}
  server
  (atom nil))

(def max-line
  "The longest line a client may send, its newline included: 64 KiB, as
  evloop's reactor takes by default. A longer one gets an error line and ends
  that client: its partial line is never held beyond this."
  65536)

(defn reply
  "What the server answers to one line (without its newline, with any \\r):
  the line itself. A line given back unchanged goes back as the very bytes
  that came in."
  [line]
  line)

(defn- newline-index
  "The index of the first newline in `bytes` from `from` below `to`, or -1."
  ^long [^bytes bytes ^long from ^long to]
  (loop [i from]
    (cond (>= i to) -1
          (== 10 (aget bytes i)) i
          :else (recur (inc i)))))

(defn- split-lines
  "Splits `bytes` into its complete lines and what follows the last one:
  `[[from to] ...]` (each line's bytes, without its newline), the partial
  line's bytes, and whether a line, complete or not, is over `max-line`; the
  lines before that one are still returned."
  [^bytes bytes]
  (let [n (alength bytes)]
    (loop [start 0 lines []]
      (let [nl (newline-index bytes start (min n (+ start max-line)))]
        (cond
          (>= nl 0) (recur (inc nl) (conj lines [start nl]))
          (>= (- n start) max-line) [lines nil true]
          :else [lines (Arrays/copyOfRange bytes (int start) n) false])))))

(defn- answer
  "The bytes answering `lines` of `bytes`: each line through `reply`, then a
  newline. A line `reply` returns unchanged is written as its original bytes."
  ^bytes [^bytes bytes lines]
  (let [out (ByteArrayOutputStream.)]
    (doseq [[from to] lines
            :let [from (int from) len (int (- to from))
                  line (String. bytes from len StandardCharsets/UTF_8)
                  r (reply line)]]
      (if (identical? r line)
        (.write out bytes from len)
        (let [b (.getBytes (str r) StandardCharsets/UTF_8)]
          (.write out b 0 (alength b))))
      (.write out 10))
    (.toByteArray out)))

(def ^:private too-long
  (.getBytes (str "error: line longer than " max-line " bytes\n") StandardCharsets/UTF_8))

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
  and flip it from the read table to the write table. A line over
  `max-line` is answered with an error line, after which the client closes."
  [{lp :loop clients :clients ^ByteBuffer buf :buf :as server} fd]
  (let [{^Fd f :fd ^bytes in :in} (get @clients fd)
        n (.read f (.clear buf))]
    (cond
      (= n Net/WOULD_BLOCK) nil
      (zero? n) (close-client! server fd)
      :else
      (let [chunk (byte-array n)
            _ (.get (.flip buf) chunk)
            bytes (if (zero? (alength in)) chunk (concat-bytes in chunk))
            [lines rest over?] (split-lines bytes)
            out (cond-> (answer bytes lines) over? (concat-bytes too-long))]
        (swap! clients update fd assoc :in (or rest (byte-array 0)) :close-after-write over?)
        (when (pos? (alength out))
          (swap! clients assoc-in [fd :out] out)
          ;; After a read the socket is ready for writing to.
          (ev/on-readable! lp fd nil)
          (ev/on-writable! lp fd (fn [_ _])))))))

(defn- drain!
  "Reads and drops what the client has sent meanwhile (up to a megabyte), so
  that closing it sends a FIN after the error line, not a reset."
  [^Fd f ^ByteBuffer buf]
  (loop [i 0]
    (when (and (< i 16) (pos? (.read f (.clear buf))))
      (recur (inc i)))))

(defn handle-write
  "A client is writable: write what waits, and once all of it is gone flip
  the client back from the write table to the read table (or close it, after
  its error line)."
  [{lp :loop clients :clients ^ByteBuffer buf :buf :as server} fd]
  (let [{^Fd f :fd ^bytes out :out close? :close-after-write} (get @clients fd)
        b (doto (.clear buf) (.put out 0 (int (min (alength out) (.capacity buf)))) (.flip))
        n (.send f b)]
    (cond
      (or (= n Net/WOULD_BLOCK) (< n (alength out)))
      (swap! clients assoc-in [fd :out] (Arrays/copyOfRange out (int (max 0 n)) (alength out)))
      close? (do (drain! f buf) (close-client! server fd))
      ;; After a write the socket is ready for reading from.
      :else (do (swap! clients assoc-in [fd :out] nil)
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
  thread of its own, makes it `@server`, and returns the server map, whose
  :port is the bound port. Stop it with `stop`."
  [port]
  (options/arg! "evloop.chicken/start" :port port
                (options/int-option 0 65535))
  (let [listener (Net/listen (InetSocketAddress. "127.0.0.1" (int port)) 1024)
        lp (ev/open-loop)
        srv {:loop lp :listener listener :clients (atom {})
             ;; One buffer for every read and write: the loop runs one step at a time.
             :buf (ByteBuffer/allocateDirect 65536)
             :port (.getPort (Net/localAddress listener))}]
    (ev/on-readable! lp (.fd listener) (fn [_ _]))
    ;; Through the var, every turn: redefining fd-event-list-handler applies at once.
    (ev/on-turn! lp (fn [pairs] (#'fd-event-list-handler srv pairs)))
    (ev/start-loop! lp)
    (reset! server srv)
    srv))

(defn stop
  "Stops the loop, then closes the listener and every client: the fds the
  server owns. `server` is nil afterwards, if it held this one."
  [{lp :loop ^Fd listener :listener clients :clients :as srv}]
  (options/arg! "evloop.chicken/stop" :server srv
                [#(and (map? %) (instance? Fd (:listener %))) "a seed server, as evloop.chicken/start returns it"])
  (ev/close! lp)
  (.close listener)
  (doseq [{^Fd f :fd} (vals @clients)]
    (.close f))
  (reset! clients {})
  (compare-and-set! server srv nil)
  nil)

(def ^:private usage
  "usage: dev/clj -M:chicken [--port P] [--nrepl-port N | --no-nrepl]")

(defn -main
  "Runs the seed server, then nREPL beside it (as evloop.echo's -main does),
  until Ctrl-C or SIGTERM, which stop whichever seed server `server` holds
  then: `dev/clj -M:chicken [--port P] [--nrepl-port N | --no-nrepl]`."
  [& args]
  (let [{:keys [port nrepl-port no-nrepl]}
        (cli/parse "evloop.chicken" usage
                   {"--port" [:port cli/port]
                    "--nrepl-port" [:nrepl-port cli/port]
                    "--no-nrepl" [:no-nrepl nil]}
                   {:port 6666 :nrepl-port 7888} args)
        _ (when-not no-nrepl (echo/check-nrepl! "evloop.chicken"))
        srv (try (start port)
                 (catch Exception e
                   (cli/die! "evloop.chicken" (str "cannot listen on 127.0.0.1:" port ": " (ex-message e)))))]
    ;; The hook before the banner: whoever reads the banner may send SIGTERM at once.
    (.addShutdownHook (Runtime/getRuntime) (Thread. ^Runnable #(some-> @server stop)))
    (println (str "evloop chicken (seed) echo server on 127.0.0.1:" (:port srv)))
    (when-not no-nrepl
      (echo/serve-nrepl! "evloop.chicken" nrepl-port))
    ;; The seed server runs until the process ends: a REPL user may stop it
    ;; and start another, which the shutdown hook then stops.
    @(promise)))
