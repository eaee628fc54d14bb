(ns build
  "evloop's library build with tools.build, for tools.deps users (Maven users
  have pom.xml). `compile` is the prep step of :deps/prep-lib in deps.edn: a
  project that depends on evloop as a git or :local/root dep runs it through
  `clj -X:deps prep` (here: dev/clj -X:deps prep), since deps.edn's paths name
  target/classes and a checkout has none.

    clj -T:build compile   java-src -> target/classes
    clj -T:build jar       the library jar, as Maven's: no evloop.examples
    clj -T:build clean"
  (:refer-clojure :exclude [compile])
  (:require [clojure.java.io :as io]
            [clojure.tools.build.api :as b]
            [clojure.xml :as xml]))

(def class-dir "target/classes")
(def jar-dir "target/jar")

(defn- pom
  "groupId, artifactId and version from pom.xml, the one place they are set."
  []
  (let [top (:content (xml/parse (io/file "pom.xml")))
        text (fn [tag] (some #(when (= tag (:tag %)) (first (:content %))) top))]
    {:group (text :groupId) :artifact (text :artifactId) :version (text :version)}))

(defn clean [_]
  (b/delete {:path "target"}))

(defn compile
  "Compiles java-src into target/classes for Java 17, as pom.xml does. A failed
  compile leaves no target/classes behind, so prep does not take a half-built
  directory for a prepared lib."
  [_]
  (let [fresh? (not (.exists (io/file class-dir)))]
    (try
      (b/javac {:src-dirs ["java-src"]
                :class-dir class-dir
                ;; the project's deps (jnr-ffi) only; no user deps.edn
                :basis (b/create-basis {:project "deps.edn"})
                :javac-opts ["--release" "17" "-Xlint:all,-options,-processing"]})
      (catch Throwable t
        (when fresh? (b/delete {:path class-dir}))
        (throw t)))))

(defn jar
  "target/<artifactId>-<version>.jar with the contents of Maven's library jar:
  the compiled Java core but evloop.examples, the Clojure namespaces of clj-src,
  and pom.xml."
  [_]
  (b/delete {:path class-dir})          ; no classes of since-deleted sources
  (compile nil)
  (let [{:keys [group artifact version]} (pom)
        meta-dir (str jar-dir "/META-INF/maven/" group "/" artifact)
        jar-file (format "target/%s-%s.jar" artifact version)]
    (b/delete {:path jar-dir})
    (b/copy-dir {:src-dirs [class-dir "clj-src"] :target-dir jar-dir})
    (b/delete {:path (str jar-dir "/evloop/examples")})
    (b/copy-file {:src "pom.xml" :target (str meta-dir "/pom.xml")})
    (b/write-file {:path (str meta-dir "/pom.properties")
                   :string (format "groupId=%s\nartifactId=%s\nversion=%s\n" group artifact version)})
    (b/jar {:class-dir jar-dir :jar-file jar-file})
    (println jar-file)))
