(ns evloop.impl.handler
  "How evloop.core's servers and clients call Clojure code: the Java
  TcpHandler that looks the Clojure handler up on every event (so a swap or a
  redefined var applies to open connections at once), decodes lines, and
  sends back what a line handler returns. An implementation detail of
  evloop.core."
  (:require [clojure.string :as str]
            [evloop.impl.enums :as enums])
  (:import (evloop.tcp Connection TcpHandler TextHandler)
           (java.nio ByteBuffer)
           (java.nio.charset Charset StandardCharsets)))

(set! *warn-on-reflection* true)

(def callbacks
  "The keys of a handler map, and what each is called with."
  {:on-line "(fn [conn line]): each line; a returned string, bytes or ByteBuffer is sent back"
   :on-connect "(fn [conn])"
   :on-close "(fn [conn cause])"
   :on-writable "(fn [conn writable?])"
   :on-timeout "(fn [conn which]): truthy keeps the connection open"})

(defn callable?
  "Something meant to be called: a fn, a multimethod, a var, a record that
  implements IFn, any other IFn that is not a collection, a keyword or a
  symbol (which are IFns too, but a map or :on-line given as a handler is a
  mistake, not a lookup)."
  [x]
  (and (ifn? x) (or (record? x) (not (or (coll? x) (keyword? x) (symbol? x))))))

(defn check
  "Throws an ex-info (data :key :handler) unless `h` is a handler: a fn (or
  a multimethod), a var, a map of `callbacks` to fns, or an
  evloop.tcp.TcpHandler. Returns `h`."
  [f h]
  (let [v (if (var? h) @h h)]
    (cond
      (instance? TcpHandler v) h
      (map? v) (let [unknown (remove callbacks (keys v))
                     not-fns (keep (fn [[k f]] (when-not (callable? f) k)) v)]
                 (if (and (seq v) (empty? unknown) (empty? not-fns))
                   h
                   (throw (ex-info (str f ": handler must be a map of " (str/join ", " (sort (keys callbacks)))
                                        " to fns"
                                        (cond (empty? v) ", not empty"
                                              (seq unknown) (str "; unknown: " (str/join ", " (map pr-str unknown)))
                                              :else (str "; not fns: " (str/join ", " (map pr-str not-fns))))
                                        ", got " (pr-str h))
                                   {:key :handler :value h :allowed (set (keys callbacks))}))))
      (callable? v) h
      :else (throw (ex-info (str f ": handler must be a fn of [conn line] (or a multimethod), a var holding one, a map of "
                                 (str/join ", " (sort (keys callbacks))) " to fns, or an evloop.tcp.TcpHandler, got " (pr-str h))
                            {:key :handler :value h :allowed (set (keys callbacks))})))))

(defn current
  "The handler `h` stands for now: a var's value, looked up on every call, so
  redefining the var applies at once; anything else as is."
  [h]
  (if (var? h) @h h))

(defn- java-handler
  "The Java TcpHandler `h` stands for now, or nil if it is Clojure."
  ^TcpHandler [h]
  (let [v (current h)]
    (when (instance? TcpHandler v) v)))

(defn callback
  "The fn handler `h` has for `k`, looked up now: a var is dereferenced on
  every call, so redefining it applies at once. Nil for a Java TcpHandler,
  which the bridge calls through its own methods."
  [h k]
  (let [h (current h)]
    (cond (map? h) (get h k)
          (instance? TcpHandler h) nil
          (identical? k :on-line) h)))

(defn clojure-only!
  "Returns `h`; throws an ex-info (:key :handler) naming fn `f` when `h` stands
  for a Java TcpHandler now (evloop.async's channel handlers are), whose
  callbacks are no Clojure fns to call or record."
  [f h]
  (when (java-handler h)
    (throw (ex-info (str f ": needs a Clojure handler (a fn, a var or a map of fns), got the Java TcpHandler "
                         (pr-str (current h)))
                    {:key :handler :value h})))
  h)

(defn as-map
  "Any Clojure handler `h` as a map of the callbacks it has now (:on-line
  ...); a Java TcpHandler throws (`clojure-only!`)."
  [h]
  (clojure-only! "normalize-handler" h)
  (into {} (keep (fn [k] (when-let [f (callback h k)] [k f]))) (keys callbacks)))

(defn- reply!
  "Sends what a line handler returned, when it is something to send. The very
  string the handler was given goes back as the frame's original bytes: no
  re-encoding, no copy, and byte-exact even where the line was not UTF-8."
  [^Connection conn x line ^ByteBuffer frame ^Charset cs]
  (cond (identical? x line) (.send conn frame)
        (string? x) (.send conn (.getBytes ^String x cs))
        (bytes? x) (.send conn ^bytes x)
        (instance? ByteBuffer x) (.send conn ^ByteBuffer x)
        :else nil))

(defn- string-decoder
  "Decodes frames to strings through a scratch array per loop thread, grown as
  needed. One handler serves every loop of a server (`:loops 2`), so one array
  shared by all would let two loop threads overwrite each other's line."
  [^Charset cs]
  (let [scratch (ThreadLocal/withInitial (reify java.util.function.Supplier (get [_] (byte-array 4096))))]
    (fn [^ByteBuffer b]
      (let [n (.remaining b)
            ^bytes a (let [^bytes a (.get scratch)]
                       (if (<= n (alength a))
                         a
                         (let [bigger (byte-array (max n (* 2 (alength a))))]
                           (.set scratch bigger)
                           bigger)))]
        (.get b (.position b) a 0 n)
        (String. a 0 n cs)))))

(defn decoder
  "The frame decoder for a :format."
  [fmt ^Charset cs]
  (case fmt
    :string (string-decoder cs)
    :bytes (fn [^ByteBuffer b]
             (let [a (byte-array (.remaining b))]
               (.get b (.position b) a 0 (alength a))
               a))
    :buffer identity))

(defmacro ^:private with-conveyed
  "Runs body with the thread bindings `bindings` (a map, or nil for none)."
  [bindings & body]
  `(if-let [b# ~bindings]
     (with-bindings* b# (fn [] ~@body))
     (do ~@body)))

(defn- protocol-error!
  "What TcpHandler's default onProtocolError does: tell the peer in one line."
  [^Connection conn ^Exception e]
  (.send conn (.getBytes (str "error: " (.getMessage e) "\n") StandardCharsets/UTF_8)))

(defmacro ^:private bridge
  "A reify of `iface`: `frame-methods`, which hand frames to the :on-line fn,
  and the callbacks every handler has, looked up in `handler-ref` per event.
  When the handler is (or a var holds, now) a Java TcpHandler, each callback
  goes to that handler's method instead."
  [iface handler-ref cs bindings & frame-methods]
  `(reify ~iface
     ~@frame-methods
     (onConnect [_# conn#]
       (.attach ^Connection conn# {:charset ~cs})
       (let [h# (:handler @~handler-ref)]
         (if-let [j# (java-handler h#)]
           (with-conveyed ~bindings (.onConnect j# conn#))
           (when-let [f# (callback h# :on-connect)]
             (with-conveyed ~bindings (f# conn#))))))
     (onPeerClosed [_# conn#]
       (if-let [j# (java-handler (:handler @~handler-ref))]
         (boolean (with-conveyed ~bindings (.onPeerClosed j# conn#)))
         false))
     (onDisconnect [_# conn# cause#]
       (let [h# (:handler @~handler-ref)]
         (if-let [j# (java-handler h#)]
           (with-conveyed ~bindings (.onDisconnect j# conn# cause#))
           (when-let [f# (callback h# :on-close)]
             (with-conveyed ~bindings (f# conn# (enums/->keyword cause#)))))))
     (onWritabilityChanged [_# conn# writable#]
       (let [h# (:handler @~handler-ref)]
         (if-let [j# (java-handler h#)]
           (with-conveyed ~bindings (.onWritabilityChanged j# conn# writable#))
           (when-let [f# (callback h# :on-writable)]
             (with-conveyed ~bindings (f# conn# writable#))))))
     (onTimeout [_# conn# which#]
       (let [h# (:handler @~handler-ref)]
         (if-let [j# (java-handler h#)]
           (boolean (with-conveyed ~bindings (.onTimeout j# conn# which#)))
           (if-let [f# (callback h# :on-timeout)]
             (boolean (with-conveyed ~bindings (f# conn# (enums/->keyword which#))))
             false))))
     (onProtocolError [_# conn# e#]
       (if-let [j# (java-handler (:handler @~handler-ref))]
         (with-conveyed ~bindings (.onProtocolError j# conn# e#))
         (protocol-error! conn# e#)))))

(defn- java-frame!
  "Hands a frame to a Java handler: a TextHandler of the same charset gets the
  text already decoded, any other handler the frame (a TextHandler of another
  charset decodes it itself)."
  [^TcpHandler j ^Connection conn text ^ByteBuffer frame ^Charset cs]
  (if (and text (instance? TextHandler j) (= cs (.charset ^TextHandler j)))
    (.onText ^TextHandler j conn text frame)
    (.onMessage j conn frame)))

(defn- on-line!
  "Calls the :on-line fn with the frame's `text`, or the frame decoded with
  `decode`, and sends back what it returns; or hands the frame to the Java
  handler a var holds."
  [handler-ref bindings ^Connection conn text decode ^ByteBuffer frame cs]
  (let [{:keys [handler record]} @handler-ref]
    (if-let [j (java-handler handler)]
      (with-conveyed bindings (java-frame! j conn text frame cs))
      (when-let [f (callback handler :on-line)]
        (let [line (if decode (decode frame) text)]
          (when record (record conn line))
          (reply! conn (with-conveyed bindings (f conn line)) line frame cs))))))

(defn tcp-handler
  "The Java handler over `handler-ref`, an atom of {:handler h :record f}.
  With `bindings`, every callback runs with those thread bindings (connect!
  conveys the REPL's *out* this way). For :string it is an
  evloop.tcp.TextHandler: the loop decodes, a read's lines at a time."
  ^TcpHandler [handler-ref fmt ^Charset cs bindings]
  (if (= fmt :string)
    (bridge TextHandler handler-ref cs bindings
            (charset [_] cs)
            (onText [_ conn line frame] (on-line! handler-ref bindings conn line nil frame cs)))
    (let [decode (decoder fmt cs)]
      (bridge TcpHandler handler-ref cs bindings
              (onMessage [_ conn frame] (on-line! handler-ref bindings conn nil decode frame cs))))))
