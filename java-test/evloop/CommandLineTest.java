package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The echo servers' command lines, as users meet them: every mistake is one line on stderr
 * that names the option and what is allowed, exit status 2, and no stack trace.
 */
class CommandLineTest {
    private record Outcome(int exit, List<String> stderr) {}

    /** Runs each command line in a fresh JVM, all at once, and collects how they ended. */
    private static Map<String, Outcome> run(Map<String, String[]> cases) throws Exception {
        Map<String, FreshJvm> running = new LinkedHashMap<>();
        for (Map.Entry<String, String[]> c : cases.entrySet()) {
            String[] cmd = c.getValue();
            running.put(c.getKey(), FreshJvm.start(4096, cmd[0], java.util.Arrays.copyOfRange(cmd, 1, cmd.length)));
        }
        Map<String, Outcome> out = new LinkedHashMap<>();
        for (Map.Entry<String, FreshJvm> r : running.entrySet()) {
            try (FreshJvm j = r.getValue()) {
                assertTrue(j.process.waitFor(60, TimeUnit.SECONDS), r.getKey() + " did not exit");
                List<String> lines = new ArrayList<>(j.stderr().lines().filter(l -> !l.isBlank()).toList());
                out.put(r.getKey(), new Outcome(j.process.exitValue(), lines));
            }
        }
        return out;
    }

    private static void oneLine(Outcome o, String expected, String which) {
        assertEquals(2, o.exit(), which + ": exit status");
        assertEquals(1, o.stderr().size(), which + ": one line, no stack trace: " + o.stderr());
        assertFalse(o.stderr().get(0).contains("Exception"), which + ": " + o.stderr());
        assertTrue(o.stderr().get(0).contains(expected), which + ": " + o.stderr().get(0));
    }

    @Test
    void badOptionsAndBusyPortsGetOneLineAndStatusTwo() throws Exception {
        try (ServerSocket busy = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            String port = String.valueOf(busy.getLocalPort());
            String java = "evloop.examples.EchoServer";
            String[] clj = {"clojure.main", "-m", "evloop.echo"};
            Map<String, String[]> cases = new LinkedHashMap<>();
            cases.put("java --port abc", new String[] {java, "--port", "abc"});
            cases.put("java --bogus", new String[] {java, "--bogus", "1"});
            cases.put("java --bogus alone", new String[] {java, "--bogus"});
            cases.put("java --port alone", new String[] {java, "--port"});
            cases.put("java busy", new String[] {java, "--port", port});
            cases.put("clj --port abc", concat(clj, "--port", "abc"));
            cases.put("clj --nrepl-port abc", concat(clj, "--nrepl-port", "abc"));
            cases.put("clj --bogus", concat(clj, "--bogus"));
            cases.put("clj busy", concat(clj, "--port", port, "--no-nrepl"));
            cases.put("clj nrepl busy", concat(clj, "--port", "0", "--nrepl-port", port));
            cases.put("async nrepl busy", new String[] {"clojure.main", "-m", "evloop.async-echo", "--port", "0", "--nrepl-port", port});
            cases.put("chicken nrepl busy", new String[] {"clojure.main", "-m", "evloop.chicken", "--port", "0", "--nrepl-port", port});
            cases.put("clj huge duration", concat(clj, "--idle-timeout", "99999999999999999999s"));
            cases.put("clj unix and port", concat(clj, "--unix", "/tmp/x.sock", "--port", "1"));
            cases.put("java huge duration", new String[] {java, "--idle-timeout", "99999999h"});
            cases.put("java unix and port", new String[] {java, "--unix", "/tmp/x.sock", "--port", "1"});
            Map<String, Outcome> o = run(cases);
            oneLine(o.get("java --port abc"), "--port must be a number from 0 to 65535, got \"abc\"", "java --port abc");
            oneLine(o.get("java --bogus"), "unknown option \"--bogus\"", "java --bogus");
            oneLine(o.get("java --bogus alone"), "unknown option \"--bogus\"", "java --bogus alone");
            oneLine(o.get("java --port alone"), "--port needs a value", "java --port alone");
            oneLine(o.get("java busy"), "EADDRINUSE (Address already in use); choose another with --port", "java busy");
            oneLine(o.get("clj --port abc"), "--port must be a number from 0 to 65535, got \"abc\"", "clj --port abc");
            oneLine(o.get("clj --nrepl-port abc"), "--nrepl-port must be a number from 0 to 65535, got \"abc\"",
                "clj --nrepl-port abc");
            oneLine(o.get("clj --bogus"), "unknown option \"--bogus\"", "clj --bogus");
            oneLine(o.get("clj busy"), "cannot listen on 127.0.0.1:" + port + ": bind(127.0.0.1:" + port
                + "): EADDRINUSE (Address already in use); choose another with --port", "clj busy");
            oneLine(o.get("clj huge duration"), "--idle-timeout must be a duration such as 300s", "clj huge duration");
            oneLine(o.get("clj unix and port"), "use --port/--host or --unix, not both", "clj unix and port");
            oneLine(o.get("java huge duration"), "--idle-timeout must be at most 100 years", "java huge duration");
            oneLine(o.get("java unix and port"), "use --port/--host or --unix, not both", "java unix and port");
            for (String which : List.of("clj nrepl busy", "async nrepl busy", "chicken nrepl busy")) {
                oneLine(o.get(which), "cannot start nREPL on 127.0.0.1:" + port
                    + ": Address already in use; choose another with --nrepl-port, or --no-nrepl", which);
            }
        }
    }

    /** The classpath of the tests without nREPL's jar, as a project that does not depend on it has. */
    private static String withoutNrepl() {
        String sep = java.io.File.separator;
        return FreshJvm.classpathWithout(sep + "nrepl" + sep);
    }

    @Test
    void theEchoNamespaceLoadsAndRunsWithoutNreplOnTheClasspath() throws Exception {
        try (FreshJvm j = FreshJvm.startOn(withoutNrepl(), 4096, "clojure.main", "-e",
                "(require 'evloop.echo) (println :loaded (some? (clojure.java.io/resource \"nrepl/server.clj\")))"
                + " (apply evloop.echo/-main [\"--no-nrepl\" \"--port\" \"0\"])")) {
            assertEquals(":loaded false", line(j), "(require 'evloop.echo) loads, and nREPL is really absent");
            String listening = line(j);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)").matcher(listening);
            assertTrue(m.find(), "-main --no-nrepl runs: " + listening + " " + j.stderr());
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", Integer.parseInt(m.group(1)))) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write("hi\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                assertEquals("hi", new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8)).readLine());
            }
        }
    }

    @Test
    void everyEchoServerServesAUnixSocketWithDashDashUnixAndRemovesItOnStop(@TempDir Path dir) throws Exception {
        Map<String, String[]> servers = new LinkedHashMap<>();
        servers.put("java", new String[] {"evloop.examples.EchoServer", "--unix", dir.resolve("java.sock").toString()});
        servers.put("clj", new String[] {"clojure.main", "-m", "evloop.echo", "--unix", dir.resolve("clj.sock").toString(),
            "--no-nrepl"});
        // The channel echo takes evloop.echo's flags, the timeouts too.
        servers.put("async", new String[] {"clojure.main", "-m", "evloop.async-echo", "--unix",
            dir.resolve("async.sock").toString(), "--no-nrepl", "--idle-timeout", "5m", "--read-timeout", "5m"});
        Map<String, FreshJvm> running = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, String[]> e : servers.entrySet()) {
                String[] cmd = e.getValue();
                running.put(e.getKey(), FreshJvm.start(4096, cmd[0], java.util.Arrays.copyOfRange(cmd, 1, cmd.length)));
            }
            for (Map.Entry<String, FreshJvm> e : running.entrySet()) {
                FreshJvm j = e.getValue();
                Path socket = dir.resolve(e.getKey() + ".sock");
                // readLine blocks: a child that never prints must not hang the test.
                String banner = CompletableFuture.supplyAsync(() -> {
                    try {
                        return j.out.readLine();
                    } catch (java.io.IOException io) {
                        return "stdout failed: " + io;
                    }
                }).get(120, TimeUnit.SECONDS);
                String kind = e.getKey().equals("async") ? "channel echo" : "echo";
                assertEquals("evloop " + kind + " server listening on unix:" + socket, banner, e.getKey() + ": " + j.stderr());
                assertTrue(Files.exists(socket), e.getKey());
                assertEquals("over unix ✓\n", TestFds.unixEcho(socket, "over unix ✓\n"), e.getKey());
                j.process.destroy();   // SIGTERM: the shutdown hook stops the server
                assertTrue(j.process.waitFor(60, TimeUnit.SECONDS), e.getKey() + " did not exit");
                assertFalse(Files.exists(socket), e.getKey() + ": the socket file went with the server");
            }
        } finally {
            for (FreshJvm j : running.values()) {
                j.close();
            }
        }
    }

    @Test
    void withoutNreplOnTheClasspathTheEchoMainSaysSoBeforeItStarts() throws Exception {
        try (FreshJvm j = FreshJvm.startOn(withoutNrepl(), 4096, "clojure.main", "-m", "evloop.echo", "--port", "0")) {
            assertTrue(j.process.waitFor(60, TimeUnit.SECONDS), "did not exit");
            List<String> err = j.stderr().lines().filter(l -> !l.isBlank()).toList();
            Outcome o = new Outcome(j.process.exitValue(), err);
            oneLine(o, "nREPL is not on the classpath", "no nREPL");
            assertTrue(err.get(0).contains("--no-nrepl"), "suggests --no-nrepl: " + err.get(0));
            assertEquals(null, j.out.readLine(), "no echo server was started first");
        }
    }

    @Test
    void sigtermStopsTheEchoServerRestartedFromTheRepl() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
            CommandLineTest.class.getClassLoader().getResource("nrepl/server.clj") != null,
            "needs nREPL on the classpath (mvn -Pnrepl)");
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("evloop-echo");
        java.nio.file.Path sock = dir.resolve("echo.sock");
        // What a REPL user does: stop the server -main started and start another (here on a
        // Unix socket, whose file only a clean stop removes).
        String script = "(require 'evloop.echo)"
            + "(future (try"
            + "  (let [deadline (+ (System/currentTimeMillis) 60000)]"
            + "    (while (and (nil? @evloop.echo/server) (< (System/currentTimeMillis) deadline))"
            + "      (java.util.concurrent.locks.LockSupport/parkNanos 1000000)))"
            + "  (evloop.echo/stop @evloop.echo/server)"
            + "  (evloop.echo/start {:path \"" + sock + "\"})"
            + "  (println \"restarted\") (flush)"
            + "  (catch Throwable t (.printStackTrace t))))"
            + "(evloop.echo/-main \"--port\" \"0\" \"--nrepl-port\" \"0\")";
        try (FreshJvm j = FreshJvm.startIn(dir, FreshJvm.classpath(), 4096, "clojure.main", "-e", script)) {
            String l;
            do {
                l = line(j);
            } while (l != null && !l.equals("restarted"));
            assertEquals("restarted", l, j.stderr());
            assertTrue(java.nio.file.Files.exists(sock));
            assertTrue(j.process.isAlive(), "the process lives on while the restarted server runs");
            j.process.destroy();   // SIGTERM
            assertTrue(j.process.waitFor(60, TimeUnit.SECONDS), "exits on SIGTERM");
            assertFalse(java.nio.file.Files.exists(sock), "the shutdown hook stopped the server running then");
            assertFalse(java.nio.file.Files.exists(dir.resolve(".nrepl-port")), "and nREPL, removing .nrepl-port");
        } finally {
            java.nio.file.Files.deleteIfExists(sock);
            java.nio.file.Files.deleteIfExists(dir.resolve(".nrepl-port"));
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    /** The child's next line of output, waiting at most 60 s. */
    private static String line(FreshJvm j) throws Exception {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return j.out.readLine();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).get(60, TimeUnit.SECONDS);
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
