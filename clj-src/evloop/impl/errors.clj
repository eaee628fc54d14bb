;; Kept apart so evloop.core reads as the API; an implementation detail.
(ns evloop.impl.errors
  "How failures reach Clojure callers: a failed system call becomes an ex-info
  carrying :syscall, :errno and :errno-name; a value a Java config refuses
  becomes an ex-info whose :key names the option."
  (:import (evloop.sys NativeException)
           (java.io UncheckedIOException)))

(set! *warn-on-reflection* true)

(defn native-ex-info
  "The ex-info for a failed system call, with `data` merged in."
  [^NativeException e data]
  (ex-info (.getMessage e)
           (merge {:syscall (.syscall e) :errno (.errno e) :errno-name (.errnoName e)} data)
           e))

(defmacro with-native-errors
  "Turns a failed system call into ex-info carrying :syscall, :errno and `data`."
  [data & body]
  `(try
     ~@body
     (catch NativeException e# (throw (native-ex-info e# ~data)))
     (catch UncheckedIOException e#
       (let [c# (.getCause e#)]
         (throw (if (instance? NativeException c#) (native-ex-info c# ~data) e#))))))

(defmacro with-option-errors
  "What a Java config still refuses (a host that does not resolve, say) as an
  ex-info of `f`: its messages start with the option's name, which gives :key."
  [f & body]
  `(try
     ~@body
     (catch IllegalArgumentException e#
       (let [m# (.getMessage e#)
             k# (keyword (re-find #"^[a-zA-Z]+" (str m#)))]
         (throw (ex-info (str ~f ": " m#) {:key (get {:unixPath :path} k# k#)} e#))))))
