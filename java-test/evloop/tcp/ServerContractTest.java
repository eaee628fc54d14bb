package evloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.EventLoop;
import evloop.TestFds;
import evloop.tools.LoopControl;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import jnr.ffi.LibraryLoader;
import org.junit.jupiter.api.Test;

/** Review probes for the reactor; each asserts a documented contract. */
class ServerContractTest {
    public interface C {
        int setsockopt(int fd, int level, int name, ByteBuffer value, int len);
    }

    private static final C LIBC = LibraryLoader.create(C.class).load("c");

    private static void setRcvBuf(int fd, int bytes) {
        ByteBuffer v = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        v.putInt(0, bytes);
        assertEquals(0, LIBC.setsockopt(fd, 1 /* SOL_SOCKET */, 8 /* SO_RCVBUF */, v, 4));
    }

    private static int listenerFd(TcpServer s) throws Exception {
        Field f = TcpServer.class.getDeclaredField("shards");
        f.setAccessible(true);
        return ((Shard[]) f.get(s))[0].listener.fd();
    }

    /**
     * The loop never closes fds it did not create, and TcpServer.shutdownShards skips a closed
     * loop ("drained.complete"), so a server whose loop was closed first never closes its
     * listener or its connections: status() says STOPPED, the port stays bound, clients hang.
     */
    @Test
    void aServerWhoseLoopWasClosedFirstStillReleasesItsFds() throws Exception {
        EventLoop loop = EventLoop.open();
        TestFds.runInBackground(loop, "user-loop");
        TcpServer s = TcpServer.start(loop, new ServerConfig().port(0), (c, f) -> c.send(f));
        int port = s.port();
        try (Client c = new Client(port)) {
            c.send("hi\n");
            assertEquals("hi\n", c.line());
            loop.close();
            s.close();
            assertEquals(TcpServer.Status.STOPPED, s.status());
            c.socket.setSoTimeout(2000);
            boolean eof;
            try {
                eof = c.socket.getInputStream().read() == -1;
            } catch (SocketTimeoutException stillOpen) {
                eof = false;
            }
            boolean portFree;
            try (ServerSocket ss = new ServerSocket()) {
                ss.bind(new InetSocketAddress("127.0.0.1", port));
                portFree = true;
            } catch (BindException inUse) {
                portFree = false;
            }
            assertTrue(eof && portFree, "after close(): client saw EOF=" + eof + ", port free=" + portFree);
        }
    }

    /**
     * LineChannel: a resume the session asks for (it drained to the low mark) can reach the loop
     * after a pause that newer lines caused. The loop then decides from the inbox as it is: it
     * must stay paused, and resume only once the session really has drained again.
     */
    @Test
    void theInboxBoundHoldsWhenAResumeIsOvertakenByAPause() throws Exception {
        int line = 64 * 1024;
        CountDownLatch drainNow = new CountDownLatch(1);
        CountDownLatch drained = new CountDownLatch(1);
        CountDownLatch drainAll = new CountDownLatch(1);
        AtomicReference<BlockingSessions.LineChannel> channel = new AtomicReference<>();
        TcpHandler h = BlockingSessions.handler(ch -> {
            channel.set(ch);
            drainNow.await(60, TimeUnit.SECONDS);
            while (ch.queuedBytes() > BlockingSessions.INBOX_LOW) {
                ch.readBytes();          // the one that reaches the low mark asks for a resume
            }
            drained.countDown();
            drainAll.await(60, TimeUnit.SECONDS);
            while (ch.readBytes() != null) {
                // to the end
            }
        }, Thread::new);
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), h); Client c = new Client(s.port())) {
            byte[] b = new byte[line];
            Arrays.fill(b, (byte) 'x');
            b[line - 1] = '\n';
            Thread writer = new Thread(() -> {
                try {
                    OutputStream out = c.socket.getOutputStream();
                    for (int i = 0; i < 64; i++) {
                        out.write(b);
                    }
                } catch (java.io.IOException e) {
                    // closed at the end
                }
            }, "writer");
            writer.setDaemon(true);
            writer.start();
            TestFds.await("reading to pause for the inbox", 10_000,
                () -> !s.connections().isEmpty() && s.connections().get(0).readingPaused());
            // Hold the loop: the session's resume request queues behind this task.
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            s.loop().execute(() -> {
                holding.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                // Lines of a read in progress arrive after the session drained: above the bound again.
                for (int i = 0; i < 20; i++) {
                    channel.get().arrived(b.clone());
                }
            });
            assertTrue(holding.await(10, TimeUnit.SECONDS));
            drainNow.countDown();
            assertTrue(drained.await(10, TimeUnit.SECONDS));
            release.countDown();
            s.loop().call(() -> null);   // the held task, then the late resume, have run
            assertTrue(s.connections().get(0).readingPaused(),
                "the late resume saw a full inbox and left reading paused: " + channel.get().queuedBytes());
            drainAll.countDown();
            TestFds.await("reading to resume once the session drained", 10_000,
                () -> !s.connections().isEmpty() && !s.connections().get(0).readingPaused());
        }
    }

    /**
     * connections() while an owned group is closing: the loop is closing but not closed, so
     * collect() goes to call(), whose submit is refused.
     */
    @Test
    void connectionsAnswerWhileTheServerStops() throws Exception {
        List<Throwable> thrown = new CopyOnWriteArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);   // it threw in the first round
        int rounds = 0;
        while (thrown.isEmpty() && System.nanoTime() < deadline) {
            rounds++;
            TcpServer s = TcpServer.start(new ServerConfig().port(0).closeTimeout(java.time.Duration.ZERO),
                (c, f) -> c.send(f));
            AtomicBoolean stop = new AtomicBoolean();
            Thread poller = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        s.connections();
                    } catch (Throwable t) {
                        thrown.add(t);
                        return;
                    }
                }
            });
            poller.start();
            s.close();
            stop.set(true);
            poller.join(10_000);
        }
        assertEquals(List.of(), thrown, "after " + rounds + " rounds, connections() during close threw");
    }

    /** closeAsync flips RUNNING to STOPPING, then grace.toNanos() overflows: the server is wedged in STOPPING. */
    @Test
    void aHugeGraceIsRefusedOrHonouredNeverWedging() throws Exception {
        TcpServer s = TcpServer.start(new ServerConfig().port(0), (c, f) -> c.send(f));
        Throwable t = null;
        try {
            s.closeAsync(java.time.Duration.ofDays(200_000));
        } catch (Throwable e) {
            t = e;
        }
        java.util.concurrent.CompletableFuture<Void> again = s.closeAsync(java.time.Duration.ofSeconds(1));
        boolean stopped;
        try {
            again.get(5, TimeUnit.SECONDS);
            stopped = true;
        } catch (java.util.concurrent.TimeoutException e) {
            stopped = false;
        }
        assertTrue(stopped, "first closeAsync threw " + t + "; status now " + s.status()
            + "; a second closeAsync(1 s) never completes");
    }

    /**
     * Consequence of EventLoop.current() being wiped on a loop thread: TcpServer.close() from a
     * handler, documented never to wait there, waits for its own loop's drain while blocking it.
     */
    @Test
    void closeFromAHandlerNeverBlocksItsLoop() throws Exception {
        AtomicLong closeMillis = new AtomicLong(-1);
        TcpServer s = TcpServer.start(new ServerConfig().port(0).closeTimeout(java.time.Duration.ofMillis(100)),
            (c, f) -> {
                EventLoop helper = EventLoop.open();   // e.g. a scratch loop, opened and closed
                helper.close();
                long t0 = System.nanoTime();
                c.server().close();
                closeMillis.set(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            });
        try (Client c = new Client(s.port())) {
            c.send("close\n");
            TestFds.await("the handler to return", 30_000, () -> closeMillis.get() >= 0);
            assertTrue(closeMillis.get() < 1000, "TcpServer.close() blocked the loop thread for "
                + closeMillis.get() + " ms");
        } finally {
            s.close();
        }
    }

    /**
     * TcpServer's constructor opens the listener, then call()s the loop to register it; when that
     * throws, the catch call()s the loop again to shut the shard down, which throws too, so the
     * listener fd is never closed (and the first exception is lost).
     */
    @Test
    void aFailedStartLeaksNoListenerFd() throws Exception {
        EventLoop loop = EventLoop.open();
        loop.close();
        int before = TestFds.openFds();
        for (int i = 0; i < 50; i++) {
            try {
                TcpServer.start(loop, new ServerConfig().port(0), (c, f) -> {});
            } catch (RuntimeException expected) {
                // refused: fine
            }
        }
        assertEquals(before, TestFds.openFds(), "fds leaked by 50 refused starts");
    }

    /** call() on a loop nobody runs, racing another call(): the loser queues a task nobody runs. */
    @Test
    void twoCallsOnAnIdleLoopBothAnswer() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            CountDownLatch inFirst = new CountDownLatch(1);
            Thread second = Thread.currentThread();
            java.util.concurrent.atomic.AtomicBoolean calling = new java.util.concurrent.atomic.AtomicBoolean();
            // The first call holds the loop until the second is waiting for it: then they race.
            Thread first = new Thread(() -> loop.call(() -> {
                inFirst.countDown();
                TestFds.await("the second call to wait for the loop", 5000,
                    () -> calling.get() && waiting(second));
                return null;
            }));
            first.start();
            inFirst.await();
            Throwable t = null;
            calling.set(true);
            try {
                loop.call(() -> 1, java.time.Duration.ofSeconds(5));
            } catch (Throwable e) {
                t = e;
            }
            first.join();
            assertEquals(null, t, "second call() on an idle loop");
        }
    }

    private static boolean waiting(Thread t) {
        Thread.State st = t.getState();
        return st == Thread.State.WAITING || st == Thread.State.TIMED_WAITING || st == Thread.State.BLOCKED;
    }
}
