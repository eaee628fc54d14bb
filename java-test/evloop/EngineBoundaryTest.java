package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The engine alone in its package, knowing nothing of the tools, the reactor or the REPL. */
class EngineBoundaryTest {
    private static List<String> imports(Path dir, boolean recursive) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = recursive ? Files.walk(dir) : Files.list(dir)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("import ")) {
                        out.add(f.getFileName() + ": " + line);
                    }
                }
            }
        }
        return out;
    }

    @Test
    void theEngineImportsNothingButTheNativeLayerAndTheJdk() throws IOException {
        List<String> bad = new ArrayList<>();
        for (String i : imports(Path.of("java-src/evloop"), false)) {
            if (i.contains(" evloop.") && !i.contains(" evloop.sys.")) {
                bad.add(i);
            }
        }
        assertEquals(List.of(), bad, "the engine package (java-src/evloop/*.java) uses only evloop.sys");
    }

    @Test
    void theEngineNamesNoOtherEvloopPackageEvenFullyQualified() throws IOException {
        List<String> bad = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("java-src/evloop"))) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                String text = Files.readString(f);
                for (String pkg : new String[] {"evloop.tools.", "evloop.tcp.", "evloop.net."}) {
                    if (text.contains(pkg)) {
                        bad.add(f.getFileName() + " names " + pkg);
                    }
                }
            }
        }
        assertEquals(List.of(), bad);
    }

    @Test
    void theToolsUseOnlyTheEnginesPublicFace() throws IOException {
        List<String> found = imports(Path.of("java-src/evloop/tools"), true);
        assertTrue(found.stream().noneMatch(i -> i.contains(" evloop.sys.") || i.contains(" evloop.tcp.")), found.toString());
    }
}
