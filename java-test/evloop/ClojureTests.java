package evloop;

import static org.junit.jupiter.api.Assertions.fail;

import clojure.java.api.Clojure;
import clojure.lang.IFn;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs the clojure.test namespaces of clj-test/ inside the Maven test run, one JUnit test per
 * deftest, so Surefire's reports (and the closing "N passed, N failed" line) count both suites.
 * The discovery and running live in the Clojure namespace evloop.test-runner, which
 * {@code dev/clj -M:test} uses too.
 */
class ClojureTests {
    private static IFn fn(String name) {
        return Clojure.var("evloop.test-runner", name);
    }

    @TestFactory
    List<DynamicContainer> clojureTests() {
        Clojure.var("clojure.core", "require").invoke(Clojure.read("evloop.test-runner"));
        List<DynamicContainer> out = new ArrayList<>();
        for (Object ns : (Iterable<?>) fn("load-test-namespaces").invoke()) {
            List<DynamicTest> tests = new ArrayList<>();
            for (Object v : (Iterable<?>) fn("test-vars-of").invoke(ns)) {
                String name = String.valueOf(fn("var-name").invoke(v));
                tests.add(DynamicTest.dynamicTest(name, () -> {
                    Map<?, ?> r = (Map<?, ?>) fn("run-var").invoke(v);
                    if (!Boolean.TRUE.equals(r.get(Clojure.read(":ok?")))) {
                        fail(String.valueOf(r.get(Clojure.read(":output"))));
                    }
                }));
            }
            out.add(DynamicContainer.dynamicContainer(String.valueOf(ns), tests));
        }
        // Namespaces that need a library this classpath lacks (nREPL without -Pnrepl) show as
        // skipped, saying what is missing, rather than failing the build.
        for (Map.Entry<?, ?> e : ((Map<?, ?>) fn("skipped-namespaces").invoke()).entrySet()) {
            String why = e.getKey() + " needs " + e.getValue() + " on the classpath";
            out.add(DynamicContainer.dynamicContainer(String.valueOf(e.getKey()),
                List.of(DynamicTest.dynamicTest("skipped", () -> Assumptions.abort(why)))));
        }
        return out;
    }
}
