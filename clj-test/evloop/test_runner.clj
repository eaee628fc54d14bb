(ns evloop.test-runner
  "Finds and runs the clojure.test namespaces under clj-test/.

  Two front doors: `dev/clj -M:test` runs them all (or the namespaces named
  as arguments: `dev/clj -M:test evloop.async-test`) and prints `N passed, N
  failed`; the JUnit bridge `evloop.ClojureTests` runs them one deftest at a
  time inside the Maven build, so one report counts Java and Clojure tests."
  (:require [clojure.java.io :as io]
            [clojure.string :as str]
            [clojure.test :as t]))

(defn test-namespaces
  "Symbols of the namespaces in files named *_test.clj under clj-test/."
  []
  (->> (file-seq (io/file "clj-test"))
       (map #(.getPath ^java.io.File %))
       (filter #(str/ends-with? % "_test.clj"))
       (map #(-> %
                 (subs (count "clj-test/") (- (count %) (count ".clj")))
                 (str/replace "/" ".")
                 (str/replace "_" "-")
                 symbol))
       sort))

(defn- ns-file [ns-sym]
  (io/file "clj-test" (str (-> (name ns-sym) (str/replace "." "/") (str/replace "-" "_")) ".clj")))

(defn missing-libs
  "The libs a test namespace declares in its ns attribute map under
  :evloop.test/requires (read without loading it) that are not on the
  classpath: such a namespace is skipped, not failed."
  [ns-sym]
  (let [form (with-open [r (java.io.PushbackReader. (io/reader (ns-file ns-sym)))] (read r))
        attrs (first (filter map? (drop 2 form)))]
    (remove #(io/resource (str (-> (name %) (str/replace "." "/") (str/replace "-" "_")) ".clj"))
            (:evloop.test/requires attrs))))

(defn skipped-namespaces
  "Test namespaces whose declared libs are missing, mapped to those libs."
  []
  (into (sorted-map) (keep (fn [ns-sym] (when-let [m (seq (missing-libs ns-sym))] [ns-sym (vec m)])))
        (test-namespaces)))

(defn load-test-namespaces
  "Requires every test namespace that can run here and returns their symbols."
  []
  (let [skipped (skipped-namespaces)
        nss (remove skipped (test-namespaces))]
    (doseq [ns-sym nss] (require ns-sym))
    nss))

(defn test-vars-of
  "The test vars of namespace `ns-sym`, in source order."
  [ns-sym]
  (->> (ns-interns ns-sym)
       vals
       (filter (comp :test meta))
       (sort-by (comp :line meta))))

(defn var-name
  "A var's name without its namespace."
  [v]
  (name (:name (meta v))))

(defn run-var
  "Runs one test var with its namespace's fixtures; returns
  `{:ok? bool :output text}` with clojure.test's report of failures."
  [v]
  (let [out (java.io.StringWriter.)]
    (binding [t/*test-out* out
              t/*report-counters* (ref t/*initial-report-counters*)]
      (t/test-vars [v])
      (let [{:keys [fail error]} @t/*report-counters*]
        {:ok? (zero? (+ fail error)) :output (str out)}))))

(defn -main
  "Runs every test namespace, or those named in `args`; exits non-zero on any
  failure."
  [& args]
  (let [nss (if (seq args)
              (let [nss (map symbol args)]
                (doseq [ns-sym nss] (require ns-sym))
                nss)
              (load-test-namespaces))
        skipped (skipped-namespaces)
        {:keys [test fail error]} (apply t/run-tests nss)]
    (doseq [[ns-sym libs] skipped]
      (println "skipped" ns-sym "- not on the classpath:" (str/join ", " libs)))
    (println (format "%d passed, %d failed" (- test fail error) (+ fail error)))
    (shutdown-agents)
    (System/exit (if (zero? (+ fail error)) 0 1))))
