(ns evloop.impl.enums
  "Java enum constants as Clojure keywords and back, one naming rule for all
  of evloop's enums: EDGE_ONESHOT <-> :edge-oneshot."
  (:require [clojure.string :as str]))

(set! *warn-on-reflection* true)

(defn ->keyword
  "The keyword for an enum constant: `Trigger/EDGE_ONESHOT` => `:edge-oneshot`."
  [^Enum e]
  (keyword (str/replace (str/lower-case (.name e)) "_" "-")))

(defn ->enum
  "The constant of enum class `cls` named by keyword `k`: `:reuse-port` => `REUSE_PORT`."
  [^Class cls k]
  (Enum/valueOf cls (str/upper-case (str/replace (name k) "-" "_"))))
