(ns evloop.nrepl-test
  "Tests that drive a real nREPL server. nREPL is not a dependency of evloop:
  the test runner skips this namespace when nrepl.server is not on the
  classpath (Maven without -Pnrepl), and dev/test puts it there."
  {:evloop.test/requires ["nrepl.server" "nrepl.core"]}
  (:require [clojure.test :refer [deftest is testing]]
            [evloop.core :as ev]
            [evloop.echo :as echo]
            [evloop.test-util :refer [connect reader send-line]]
            [nrepl.core :as nrepl]
            [nrepl.server :as nrepl-server]))

(deftest handle-line-redefined-through-nrepl-changes-the-open-connection
  (let [original @#'echo/handle-line
        server (echo/start {:port 0})
        repl (nrepl-server/start-server :bind "127.0.0.1" :port 0)]
    (try
      (with-open [s (connect (:port server))
                  conn (nrepl/connect :host "127.0.0.1" :port (:port repl))]
        (let [r (reader s)
              client (nrepl/client conn 10000)]
          (send-line s "before")
          (is (= "before" (.readLine r)))
          (is (= ["#'evloop.echo/handle-line"]
                 (:value (nrepl/combine-responses
                  (nrepl/message client {:op "eval" :ns "evloop.echo"
                                         :code "(defn handle-line [_conn line] (clojure.string/upper-case line))"}))))
              "evaluated in a real nREPL session")
          (send-line s "after")
          (is (= "AFTER" (.readLine r)) "the same socket sees the new handler")
          (is (= 1 (get-in (ev/server-info server) [:stats :accepted])) "no reconnect happened")))
      (finally
        (alter-var-root #'echo/handle-line (constantly original))
        (nrepl-server/stop-server repl)
        (echo/stop server)))))

(deftest user-start-and-stop-with-the-nrepl-port-file
  ;; dev/user.clj's system, on ports 0: stop! removes the .nrepl-port start! wrote.
  (load-file "dev/user.clj")
  (let [start! @(resolve 'user/start!)
        stop! @(resolve 'user/stop!)
        nrepl @(resolve 'user/nrepl)
        f (java.io.File. ".nrepl-port")
        saved (when (.exists f) (slurp f))]
    (try
      (let [s (start! {:port 0 :nrepl-port 0})]
        (is (identical? s @echo/server))
        (is (= (str (:port @nrepl)) (slurp f)) ".nrepl-port names the nREPL port")
        (with-open [c (connect (:port s))]
          (send-line c "user")
          (is (= "user" (.readLine (reader c))))))
      (stop!)
      (is (not (.exists f)) "stop! removed .nrepl-port")
      (is (nil? @echo/server))
      (is (nil? @nrepl))
      (testing "a Unix socket: start! adds no :port to a :path"
        (let [dir (java.nio.file.Files/createTempDirectory "evloop-user" (make-array java.nio.file.attribute.FileAttribute 0))
              path (str (.resolve dir "echo.sock"))]
          (try
            (is (= (str "unix:" path) (:address (ev/server-info (start! {:path path :nrepl-port nil})))))
            (finally
              (stop!)
              (java.nio.file.Files/deleteIfExists dir)))))
      (finally
        (stop!)
        (when saved (spit f saved))))))
