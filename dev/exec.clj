;; dev/clj -X and -T: call a function with a map of arguments, as the official
;; CLI does with clojure.run.exec (which ships with its installer, not on
;; Maven Central). Runs as a script under whatever Clojure the alias brings.
;;
;; Arguments: [fn] [key value]...  fn is qualified by the alias's :ns-default
;; or :ns-aliases, and defaults to its :exec-fn. Keys and values are EDN (a
;; string value is quoted: :name '"x"'); a vector key is a path into the map.
;; The pairs go over the alias's :exec-args.
(require '[clojure.edn :as edn])

(let [{:keys [ns-default ns-aliases exec-fn exec-args]}
      (:argmap (edn/read-string {:default tagged-literal}
                                (slurp (System/getProperty "clojure.basis"))))
      args *command-line-args*
      [f kvs] (if (some-> (first args) edn/read-string symbol?)
                [(symbol (first args)) (rest args)]
                [exec-fn args])
      _ (when-not f
          (throw (ex-info "No function to call: name one, or give the alias an :exec-fn" {})))
      qualified (cond
                  (qualified-symbol? f)
                  (symbol (str (get ns-aliases (symbol (namespace f)) (namespace f))) (name f))
                  ns-default (symbol (str ns-default) (name f))
                  :else (throw (ex-info (str "Unqualified function " f " and no :ns-default") {})))
      argmap (reduce (fn [m [k v]]
                       (let [k (edn/read-string k) v (edn/read-string v)]
                         (if (vector? k) (assoc-in m k v) (assoc m k v))))
                     (or exec-args {})
                     (partition 2 kvs))]
  ((or (requiring-resolve qualified)
       (throw (ex-info (str "Function not found: " qualified) {})))
   argmap)
  (shutdown-agents))
