(ns evloop.async
  "Connections as core.async channels, with backpressure that reaches the
  socket. Each connection gets `in`, a bounded channel of its frames (lines as
  strings by default), and `out`, a channel whose values are sent (strings,
  byte arrays, ByteBuffers):

      (require '[clojure.core.async :as a :refer [go-loop <! >!]]
               '[evloop.async :as ev.async] '[evloop.core :as ev])

      (defn echo [conn in out]
        (go-loop []
          (when-let [line (<! in)]
            (>! out line)
            (recur))))

      (def s (ev/start-server (ev.async/handler #'echo) {:port 6666}))

  `handler` makes a server (or `evloop.core/connect!`) handler from such a
  fn; `connect!` opens a client connection and returns its channels.

  Backpressure, both ways, decided on the loop thread:
  - Reading: when `in` is full, the connection stops reading (EPOLLIN off), so
    a fast peer is held back by TCP's window, not by memory here; it reads
    again once a taker has made room for what the last read brought. What
    waits on the loop's side of a full `in` is the frames of that one read:
    up to 64 KiB read, plus an incomplete frame carried over from the read
    before (up to the server's :max-line), held as one value per frame, so a
    read of short lines is many values. Reading stays paused while frames
    wait, even if you call the connection's resumeReading. A pauseReading of
    yours holds until you resume, unless you make it while frames wait: the
    loop cannot tell it from its own pause, and resumes once `in` has room.
  - Writing: the loop takes from `out` only while the connection is writable
    (queued output under its high watermark, 1 MiB by default). Then `out`
    fills, and a `go` block putting to it parks instead of queueing without
    bound. A connection whose `out` never runs dry cannot hold the loop: the
    loop sends at most 1024 values or 256 KiB of it at a time, then runs its
    other connections, timers and tasks before it goes on.

  Closing:
  - Peer EOF: `in` closes after the last frame. The connection stays open for
    output until `out` closes: when you close it (or an `a/pipe` to it
    does, if your handler fn returned `out`), or when the channel your
    handler fn returned completes (a `go-loop` ends). If your fn returned no
    channel, EOF closes `out` at once, and what was put before is still sent.
    So a peer that half-closes still gets every answer.
  - Closing `out`: what was put before is sent, then the connection closes,
    both ways, as `evloop.core/close-connection!` does (flushing within
    :close-timeout-ms). Not a half-close: evloop's connections have no
    half-open state of their own making, and a connection kept open for input
    that nobody reads any more would hold its fd until the peer gives up.
  - Reset, error, timeout, server stop, or closed from your side: `in` closes
    after the frames already read, `out` closes and what it held is dropped
    (producers parked on it are released; their `>!` returns true, later ones
    false). After `evloop.core/close-connection!`, while queued output is
    still being flushed, nothing more is sent either: `out` closes as soon as
    the loop looks at it again (a value put to it while the loop waits for
    one, or the output draining below the low watermark), or when the
    connection is gone.
  - A value in `out` that cannot be sent (its `str` throws: a lazy seq whose
    realization throws, a toString that does): what was put before it is
    sent, the exception is logged, and the connection ends as if a handler
    had thrown, cause :handler-error. `out` closes and what it held is
    dropped, as on a reset.
  - Closing `in` yourself: what arrives afterwards is read and dropped, and
    reading goes on (paused or not before), so the peer's EOF is still seen.
    What `in` held, and the frame the loop was waiting to put, can still be
    taken, as core.async keeps them after close!.
  - The cause, whatever it was, is delivered to `(closed conn)`, a promise
    channel: :peer-closed, :reset, :error, :local-close, :server-stop,
    :protocol-error, :handler-error, :close-timeout, or a timeout.

  Cost: each batch of frames crosses threads twice by default (loop -> a go
  block on core.async's pool -> loop). `evloop.async.dispatch` runs go blocks
  on the loop that woke them instead, which removes both (README, Performance).

  Needs org.clojure/core.async (deps.edn alias :async), which evloop does not
  depend on: evloop.core never loads this namespace."
  (:require [clojure.core.async :as a]
            [clojure.string :as str]
            [evloop.core :as ev]
            [evloop.impl.async :as impl]
            [evloop.impl.data :as data]
            [evloop.impl.options :as options])
  (:import (evloop.tcp Connection TcpServer)
           (java.nio.charset Charset)))

(set! *warn-on-reflection* true)

(def ^:private channel-options
  {:format [#{:string :bytes :buffer} "one of :buffer, :bytes, :string"]
   :charset [#(and (string? %) (try (Charset/forName %) true (catch Exception _ false)))
             "the name of a charset this JVM supports, such as \"UTF-8\""]
   :in-buffer [#(and (integer? %) (<= 1 % 1000000)) "an integer from 1 to 1000000"]
   :out-buffer [#(and (integer? %) (<= 1 % 1000000)) "an integer from 1 to 1000000"]
   :blocking [boolean? "true or false"]})

(def ^:private defaults
  {:format :string :charset "UTF-8" :in-buffer 64 :out-buffer 64 :blocking false})

(defn- check-options [f opts]
  (when-not (or (nil? opts) (map? opts))
    (throw (ex-info (str f ": options must be a map, got " (pr-str opts)) {:key nil :value opts})))
  (doseq [[k v] opts]
    (if-let [[ok? allowed] (channel-options k)]
      (when-not (ok? v) (throw (options/bad f k v allowed)))
      (throw (ex-info (str f ": unknown option " (pr-str k) "; known options are "
                           (str/join " " (sort (keys channel-options))))
                      {:key k :value v :known (set (keys channel-options))}))))
  (merge defaults opts))

(defn handler
  "A handler for `evloop.core/start-server` (or `connect!`) that gives each
  connection a pair of channels and calls `(f conn in out)` once per
  connection. `f` runs on the loop thread: start go blocks and return, never
  block there. With `:blocking true` it runs on `io-thread` instead (a virtual
  thread on JDK 21+), where `<!!`, `>!!` and blocking I/O are fine. If `f`
  throws, on the loop or on io-thread, the exception is logged and the
  connection ends with cause :handler-error (what is queued is still sent).

  What `f` returns matters: a channel (a `go` block's, an `io-thread`'s) says
  when the connection's answer is complete. When it completes, `out` closes,
  so the connection flushes and closes; and after the peer's EOF the
  connection stays open for output until then. Return `out` itself, as
  `(a/pipe from out)` does (or complete your channel with `out` as its
  value), to say that you close `out`: EOF then leaves it open, and the pipe
  closes it after the last answer. Return nil to close `out` yourself or let
  EOF close it for you (at once: answers still on their way are refused).
  See the namespace doc for closing.

  `f` may be a var (`#'echo`): it is looked up for each new connection, so
  re-evaluating its defn changes what the next connection runs. Connections
  already open keep running the code they started with: their go blocks are
  already running. The same holds for `evloop.core/swap-handler!`, to any
  handler (another channel handler, a plain one, a Java one): only new
  connections get it. A connection keeps the channel handler it was opened
  with until it ends: its frames still go to its `in`, its `out` is still
  sent, and its end still closes them and delivers `closed`. (A connection
  opened under a plain handler that is swapped for this one gets channels at
  its first frame under it, and keeps them.)

  Options (an unknown key or a bad value throws an ex-info naming it):
    :format :string  frames on `in` as strings, or :bytes, or :buffer (a heap
                     ByteBuffer of its own); give it here: start-server's
                     :format and :charset do not apply to a Java handler
    :charset \"UTF-8\" of strings both ways
    :in-buffer 64    frames `in` holds before reading pauses
    :out-buffer 64   values `out` holds before producers park
    :blocking false  true: run `f` on io-thread"
  ([f] (handler f {}))
  ([f opts]
   (when-not (or (fn? f) (and (var? f) (ifn? @f)))
     (throw (ex-info (str "evloop.async/handler: needs a fn of [conn in out] or a var holding one, got " (pr-str f))
                     {:key :handler :value f})))
   (impl/tcp-handler f (check-options "evloop.async/handler" opts))))

(defn- conn-of
  "The connection `x` is: a Connection, or the map `connect!` returns."
  ^Connection [f x]
  (let [c (if (map? x) (:conn x) x)]
    (if (instance? Connection c)
      c
      (throw (options/bad f :conn x "a connection (evloop.tcp.Connection), or the map connect! returns")))))

(defn channels
  "`conn`'s channels as `{:in :out :closed}` (see `closed`), or nil for a
  connection without channels. `conn` may also be the map `connect!` returns."
  [conn]
  (when-let [st (impl/channels-of (conn-of "channels" conn))]
    {:in (:in st) :out (:out st) :closed (:closed st)}))

(defn closed
  "A promise channel that delivers, once `conn` has ended, why: a keyword such
  as :peer-closed, :reset, :local-close or :server-stop."
  [conn]
  (:closed (channels (conn-of "closed" conn))))

(defn connect!
  "Opens a client connection with channels and returns, once connected,
  `{:conn :in :out :closed}`:

      (let [{:keys [in out]} (connect! {:port 6666})]
        (a/>!! out \"hi\\n\")
        (a/<!! in))          ; => \"hi\\n\" from an echo server

  `opts` are `evloop.core/connect!`'s with `handler`'s channel options
  (:format :charset :in-buffer :out-buffer). The server's EOF closes `in`
  after its last frame, and `out` (what was put before is still sent);
  closing `out` closes the connection."
  [opts]
  (when-not (map? opts)
    (throw (ex-info (str "evloop.async/connect!: options must be a map such as {:port 6666}, got " (pr-str opts))
                    {:key nil :value opts})))
  (let [ch-keys (disj (set (keys channel-options)) :blocking)
        h (handler (fn [_ _ _] nil) (select-keys opts ch-keys))
        conn (ev/connect! (apply dissoc opts ch-keys) h)]
    (assoc (channels conn) :conn conn)))

(defn channel-info
  "The state of `conn`'s channels as data: how full `in` and `out` are (and
  :overflow, frames of the last read waiting on the loop for room in `in`),
  :read-paused? (reading stopped because `in` is full), :out-paused? (the
  loop stopped taking from `out`: the connection is not writable), and
  :peer-closed?. Nil for a connection without channels."
  [conn]
  (:info (impl/channels-of (conn-of "channel-info" conn))))

(defn connections
  "`evloop.core/connections` of `server`, each with its `channel-info` under
  :channels."
  [server]
  (let [rows (ev/connections server)   ; checks `server`
        ;; Two lists taken one after the other: a connection that closed between them
        ;; may have passed its fd on, so a row and a connection pair up by fd and peer.
        by-key (into {} (map (fn [^Connection c] [[(.fd c) (data/address (.peer c))] c]))
                     (.openConnections ^TcpServer (:tcp server)))]
    (mapv (fn [c] (if-let [info (some-> (by-key [(:fd c) (:peer c)]) channel-info)] (assoc c :channels info) c))
          rows)))
