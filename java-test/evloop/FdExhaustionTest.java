package evloop;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** Running out of fds, in a fresh JVM under {@code ulimit -n}, as a user's server would. */
class FdExhaustionTest {
    private static Socket client(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(20_000);
        return s;
    }

    private static String echo(Socket s, String line) throws IOException {
        s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
    }

    @Test
    void theJavaEchoFloodedUnderUlimitKeepsItsListenerDoesNotSpinAndServesOnceFdsAreFree() throws Exception {
        floodUnderUlimit("evloop.examples.EchoServer", "--port", "0");
    }

    @Test
    void theClojureEchoFloodedUnderUlimitKeepsItsListenerDoesNotSpinAndServesOnceFdsAreFree() throws Exception {
        floodUnderUlimit("clojure.main", "-m", "evloop.echo", "--port", "0", "--no-nrepl");
    }

    private static void floodUnderUlimit(String main, String... args) throws Exception {
        try (FreshJvm child = FreshJvm.start(256, main, args)) {
            String banner = child.out.readLine();
            assertTrue(banner != null && banner.contains("listening on"), "banner: " + banner + "\n" + child.stderr());
            int port = Integer.parseInt(banner.replaceAll(".*:(\\d+).*", "$1"));
            try (Socket first = client(port)) {
                assertEquals("before", echo(first, "before"));
                List<Socket> flood = new ArrayList<>();
                try {
                    for (int i = 0; i < 600; i++) {
                        flood.add(client(port));   // the kernel completes them in the backlog
                    }
                    await("the child to run out of fds", 20_000, () -> child.openFds() >= 250);
                    Socket late = client(port);   // connects: the listener is still there
                    flood.add(late);
                    late.getOutputStream().write("queued in the backlog\n".getBytes(StandardCharsets.UTF_8));
                    assertEquals("served meanwhile", echo(first, "served meanwhile"));
                    long ticks = child.cpuTicks();
                    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));   // a measuring window, not a wait
                    long used = child.cpuTicks() - ticks;
                    assertTrue(used < 50, "out of fds the server waits, it does not spin: " + used + " ticks in 1 s");
                    for (Socket s : flood.subList(0, 600)) {
                        s.close();
                    }
                    assertEquals("queued in the backlog", new BufferedReader(new InputStreamReader(
                        late.getInputStream(), StandardCharsets.UTF_8)).readLine(), "served once fds are free");
                } finally {
                    for (Socket s : flood) {
                        s.close();
                    }
                }
                try (Socket fresh = client(port)) {
                    assertEquals("after", echo(fresh, "after"));
                }
            }
            String err = child.stderr();
            assertFalse(err.contains("NoClassDefFoundError") || err.contains("ExceptionInInitializerError"), err);
            assertTrue(err.contains("EMFILE"), "the pause was logged, naming the errno:\n" + err);
        }
    }

    @Test
    void theEpollLayoutCheckUnderEmfileFailsWithEmfileAndPassesOnceFdsAreFree() throws Exception {
        try (FreshJvm child = FreshJvm.start(256, "evloop.LayoutCheckChild")) {
            String first = child.out.readLine();
            String second = child.out.readLine();
            String third = child.out.readLine();
            assertTrue(first != null && first.contains("EMFILE") && first.contains("UncheckedIOException"),
                "a transient EMFILE stays an EMFILE: " + first + "\n" + child.stderr());
            assertEquals("second=ok", second, child.stderr());
            assertEquals("third=ok", third);
        }
    }
}
