package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import evloop.TestFds;
import evloop.sys.Errno;
import evloop.sys.EventFd;
import evloop.sys.NativeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TcpAbuseTest {
    private static final int LINE = 1024;

    /** Line {@code i} of a deterministic stream: 1023 printable bytes and a newline. */
    private static void line(long i, byte[] into) {
        String head = String.format("%010d ", i);
        for (int k = 0; k < LINE - 1; k++) {
            into[k] = k < head.length() ? (byte) head.charAt(k) : (byte) ('a' + (i + k) % 26);
        }
        into[LINE - 1] = '\n';
    }

    private static TcpServer echo(ServerConfig cfg, Map<Integer, DisconnectCause> causes, AtomicLong maxQueued) {
        return TcpServer.start(cfg.port(0), new TcpHandler() {
            @Override
            public void onMessage(Connection c, ByteBuffer frame) {
                c.send(frame);
                if (maxQueued != null) {
                    maxQueued.accumulateAndGet(c.info().queuedOut(), Math::max);
                }
            }

            @Override
            public void onDisconnect(Connection c, DisconnectCause cause) {
                causes.put(c.fd(), cause);
            }
        });
    }

    @Test
    void aClientThatDoesNotReadIsThrottledAndThenGetsEverything() throws Exception {
        long total = 64L << 20;
        AtomicLong maxQueued = new AtomicLong();
        try (TcpServer s = echo(new ServerConfig(), new ConcurrentHashMap<>(), maxQueued);
             Client c = new Client(s.port())) {
            AtomicLong written = new AtomicLong();
            Thread writer = new Thread(() -> {
                byte[] buf = new byte[LINE];
                try {
                    OutputStream out = c.socket.getOutputStream();
                    for (long i = 0; i < total / LINE; i++) {
                        line(i, buf);
                        out.write(buf);
                        written.addAndGet(LINE);
                    }
                } catch (IOException e) {
                    written.set(-1);
                }
            }, "writer");
            writer.start();
            await("server to pause reading", 30_000, () -> s.stats().backpressurePauses() >= 1);
            long readBound = 64 * 1024 + 64 * 1024;
            assertTrue(maxQueued.get() <= 1024 * 1024 + readBound,
                "queued output stays under the high watermark plus one read: " + maxQueued.get());
            assertTrue(written.get() < total, "the writer is blocked: the server stopped reading");
            InputStream in = c.socket.getInputStream();
            byte[] expected = new byte[LINE];
            byte[] got = new byte[LINE];
            for (long i = 0; i < total / LINE; i++) {
                line(i, expected);
                if (in.readNBytes(got, 0, LINE) != LINE) {
                    fail("EOF at line " + i);
                }
                if (!java.util.Arrays.equals(expected, got)) {
                    fail("line " + i + " differs");
                }
            }
            writer.join(30_000);
            assertEquals(total, written.get());
            assertTrue(maxQueued.get() <= 1024 * 1024 + readBound, "bounded to the end: " + maxQueued.get());
        }
    }

    @Test
    void aResetInTheMiddleOfALargeWriteEndsOnlyThatConnection() throws Exception {
        Map<Integer, DisconnectCause> causes = new ConcurrentHashMap<>();
        try (TcpServer s = echo(new ServerConfig(), causes, null)) {
            Client victim = new Client(s.port());
            Thread writer = new Thread(() -> {
                byte[] buf = new byte[LINE];
                line(1, buf);
                try {
                    OutputStream out = victim.socket.getOutputStream();
                    for (int i = 0; i < 65536; i++) {
                        out.write(buf);
                    }
                } catch (IOException expected) {
                    // The socket is reset under the writer's feet: that is the point.
                }
            }, "writer");
            writer.start();
            await("server output backed up", 30_000, () -> s.stats().backpressurePauses() >= 1);
            victim.socket.setSoLinger(true, 0);
            victim.close();
            writer.join(10_000);
            await("reset seen", 10_000, () -> causes.containsValue(DisconnectCause.RESET));
            try (Client other = new Client(s.port())) {
                other.send("alive\n");
                assertEquals("alive\n", other.line());
            }
        }
    }

    @Test
    void endOfStreamWithOutputStillQueuedDoesNotSpinTheLoop() throws Exception {
        // Watermarks above the data, so reading never pauses and EOF is seen while the echo of
        // 16 MiB still waits in the server's queue for a client that is not reading yet.
        long total = 16L << 20;
        try (TcpServer s = echo(new ServerConfig().watermarks(64L << 20, 128L << 20), new ConcurrentHashMap<>(), null);
             Client c = new Client(s.port())) {
            byte[] buf = new byte[LINE];
            OutputStream out = c.socket.getOutputStream();
            for (long i = 0; i < total / LINE; i++) {
                line(i, buf);
                out.write(buf);
            }
            c.socket.shutdownOutput();
            await("the server saw EOF with output queued", 10_000, () -> {
                List<ConnectionInfo> cs = s.connections();
                return cs.size() == 1 && cs.get(0).state().equals("closing") && cs.get(0).queuedOut() > 0;
            });
            java.util.concurrent.CountDownLatch window = new java.util.concurrent.CountDownLatch(1);
            long turnsBefore = s.loop().stats().turns();
            s.loop().schedule(200, java.util.concurrent.TimeUnit.MILLISECONDS, window::countDown);
            assertTrue(window.await(10, java.util.concurrent.TimeUnit.SECONDS));
            long turns = s.loop().stats().turns() - turnsBefore;
            assertTrue(turns <= 10, "a closing connection at EOF must not wake the loop every turn: " + turns + " turns in 200 ms");
            InputStream in = c.socket.getInputStream();
            byte[] expected = new byte[LINE];
            byte[] got = new byte[LINE];
            for (long i = 0; i < total / LINE; i++) {
                line(i, expected);
                assertEquals(LINE, in.readNBytes(got, 0, LINE));
                if (!java.util.Arrays.equals(expected, got)) {
                    fail("line " + i + " differs");
                }
            }
            assertTrue(c.atEof());
        }
    }

    @Test
    void aThousandConnectEchoCloseCyclesLeakNoFds() throws Exception {
        try (TcpServer s = echo(new ServerConfig(), new ConcurrentHashMap<>(), null)) {
            try (Client warm = new Client(s.port())) {
                warm.send("warm\n");
                warm.line();
            }
            await("warm-up closed", 5000, () -> s.stats().active() == 0);
            int before = TestFds.openFds();
            for (int i = 0; i < 1000; i++) {
                try (Client c = new Client(s.port())) {
                    c.send("cycle " + i + "\n");
                    assertEquals("cycle " + i + "\n", c.line());
                }
            }
            await("server side closed", 10_000, () -> s.stats().active() == 0);
            int after = TestFds.openFds();
            assertTrue(after <= before, "no fd leaked: " + before + " before, " + after + " after");
            assertEquals(1001, s.stats().accepted());
        }
    }

    @Test
    void restartingOnTheSamePortAHundredTimesAlwaysBinds() throws Exception {
        int port;
        try (TcpServer probe = echo(new ServerConfig(), new ConcurrentHashMap<>(), null)) {
            port = probe.port();
        }
        int before = TestFds.openFds();
        for (int i = 0; i < 100; i++) {
            try (TcpServer s = TcpServer.start(new ServerConfig().port(port), (c, f) -> c.send(f));
                 Client c = new Client(s.port())) {
                c.send("round " + i + "\n");
                assertEquals("round " + i + "\n", c.line());
            }
        }
        // At most as many as before: a leak adds fds, while the JVM may close an unrelated one
        // (a cleaner releasing an earlier test's socket) meanwhile.
        int after = TestFds.openFds();
        assertTrue(after <= before, "every server released its fds: " + before + " before, " + after + " after");
    }

    @Test
    void runningOutOfFdsPausesAcceptingWithoutSpinningAndRecovers() throws Exception {
        // Initialise logging now: once fds run out, it could not open its configuration.
        // Load what the failure path needs now, too: a class file cannot be opened without an fd.
        System.getLogger("evloop.test").log(System.Logger.Level.WARNING,
            "fd exhaustion test: logging initialised before fds run out (" + Errno.name(Errno.EMFILE) + ")");
        try (TcpServer s = echo(new ServerConfig().acceptRetry(java.time.Duration.ofMillis(20)),
                 new ConcurrentHashMap<>(), null);
             Client first = new Client(s.port())) {
            first.send("before\n");
            assertEquals("before\n", first.line());
            assertEquals(0, s.stats().acceptPauses() + s.loop().stats().stale());
            List<EventFd> hog = new ArrayList<>();
            Client late = null;
            try {
                try {
                    while (true) {
                        hog.add(EventFd.open());
                    }
                } catch (NativeException e) {
                    assertEquals(Errno.EMFILE, e.errno());
                }
                // One fd for the client's own socket; the server's accept then finds none.
                hog.remove(hog.size() - 1).close();
                late = new Client(s.port());
                late.send("queued in the backlog\n");
                long turnsAtStart = s.loop().stats().turns();
                await("several accept retries", 10_000, () -> s.stats().acceptPauses() >= 5);
                long turns = s.loop().stats().turns() - turnsAtStart;
                assertTrue(turns <= 4 * s.stats().acceptPauses() + 10,
                    "the loop waits between retries instead of spinning: " + turns + " turns for "
                        + s.stats().acceptPauses() + " pauses");
                first.send("existing clients are served meanwhile\n");
                assertEquals("existing clients are served meanwhile\n", first.line());
            } finally {
                for (EventFd e : hog) {
                    e.close();
                }
            }
            assertEquals("queued in the backlog\n", late.line(), "served once fds are free");
            late.close();
        }
    }
}
