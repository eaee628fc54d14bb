package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.EventLoop;
import evloop.TestFds;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class TcpServerCloseTest {
    private static Thread loopThread(TcpServer s) throws Exception {
        AtomicReference<Thread> t = new AtomicReference<>();
        s.loop().call(() -> {
            t.set(Thread.currentThread());
            return null;
        });
        return t.get();
    }

    @Test
    void closingAServerWhoseLoopIsWedgedReturnsAndReleasesItsThreadOnceTheHandlerReturns() throws Exception {
        CountDownLatch wedge = new CountDownLatch(1);
        CountDownLatch wedged = new CountDownLatch(1);
        TcpServer s = TcpServer.start(new ServerConfig().port(0).closeTimeout(Duration.ofMillis(100)), (c, f) -> {
            wedged.countDown();
            wedge.await(60, TimeUnit.SECONDS);   // a handler that blocks the loop thread
        });
        Thread loop = loopThread(s);
        try (Client c = new Client(s.port())) {
            c.send("block\n");
            assertTrue(wedged.await(10, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            s.close();
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms < 30_000, "close is bounded: " + ms + " ms");
            assertEquals(TcpServer.Status.STOPPED, s.status());
            assertTrue(loop.isAlive(), "still in the handler");
            try (java.net.ServerSocket rebind = new java.net.ServerSocket()) {
                rebind.bind(new java.net.InetSocketAddress("127.0.0.1", s.port()));   // the port is free already
            }
            wedge.countDown();
            loop.join(10_000);
            assertFalse(loop.isAlive(), "the owned loop's thread ended once the handler returned");
            assertTrue(s.loop().isClosed(), "and the loop released its fds");
        }
    }

    @Test
    void twoLoopsClosingEachOthersServersFromHandlersDoNotDeadlock() throws Exception {
        AtomicReference<TcpServer> a = new AtomicReference<>();
        AtomicReference<TcpServer> b = new AtomicReference<>();
        CyclicBarrier together = new CyclicBarrier(2);
        TcpHandler closesOther = (c, frame) -> {
            together.await(10, TimeUnit.SECONDS);
            (c.server() == a.get() ? b.get() : a.get()).close();
        };
        a.set(TcpServer.start(new ServerConfig().port(0), closesOther));
        b.set(TcpServer.start(new ServerConfig().port(0), closesOther));
        try (Client ca = new Client(a.get().port()); Client cb = new Client(b.get().port())) {
            ca.send("close b\n");
            cb.send("close a\n");
            await("both servers to stop", 30_000, () -> a.get().status() == TcpServer.Status.STOPPED
                && b.get().status() == TcpServer.Status.STOPPED);
            assertTrue(ca.atEof() && cb.atEof());
        }
    }

    @Test
    void closeAsyncReportsTheStagesAndServerStatsStillAnswerAfterwards() throws Exception {
        TcpServer s = TcpServer.start(new ServerConfig().port(0), (c, f) -> c.send(f));
        assertEquals(TcpServer.Status.RUNNING, s.status());
        try (Client c = new Client(s.port())) {
            c.send("hi\n");
            assertEquals("hi\n", c.line());
        }
        s.closeAsync(Duration.ofSeconds(1)).get(30, TimeUnit.SECONDS);
        assertEquals(TcpServer.Status.STOPPED, s.status());
        assertEquals(1, s.stats().accepted());
        assertTrue(s.connections().isEmpty());
        assertTrue(s.closeAsync().isDone(), "idempotent");
    }

    private static boolean refusesWork(EventLoop loop) {
        try {
            loop.execute(() -> { });
            return false;
        } catch (RejectedExecutionException closing) {
            return true;
        }
    }

    private static boolean aStopIsWaiting() {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith("evloop-stop-server")
            && t.getState() == Thread.State.TIMED_WAITING);
    }

    /**
     * loop.close() and server.close() from two threads while a handler runs on a loop the
     * caller owns: the server's stop found the loop closing, and tore the connections down
     * itself, beside the loop thread's own close of them: onDisconnect off the loop thread,
     * possibly twice, and the server's counters released twice.
     */
    @Test
    void aLoopCloseAndAServerCloseMeetingABusyHandlerTearEachConnectionDownOnceOnTheLoop() throws Exception {
        EventLoop loop = EventLoop.open();
        TestFds.runInBackground(loop, "user-loop");
        CountDownLatch inHandler = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> disconnects = new CopyOnWriteArrayList<>();
        TcpServer s = TcpServer.start(loop, new ServerConfig().port(0).closeTimeout(Duration.ofMillis(200)),
            new TcpHandler() {
                @Override
                public void onMessage(Connection c, ByteBuffer frame) throws Exception {
                    inHandler.countDown();
                    release.await(30, TimeUnit.SECONDS);
                }

                @Override
                public void onDisconnect(Connection c, DisconnectCause cause) {
                    disconnects.add(Thread.currentThread().getName() + " " + cause);
                }
            });
        try (Client c = new Client(s.port())) {
            c.send("block\n");
            assertTrue(inHandler.await(10, TimeUnit.SECONDS));
            Thread loopCloser = new Thread(loop::close, "loop-closer");
            loopCloser.start();
            await("the loop to be closing", 5000, () -> refusesWork(loop));
            Thread serverCloser = new Thread(s::close, "server-closer");
            serverCloser.start();
            await("the server's stop to wait for the loop, or to tear down", 10_000,
                () -> !disconnects.isEmpty() || aStopIsWaiting());
            List<String> whileBusy = List.copyOf(disconnects);
            release.countDown();
            loopCloser.join(10_000);
            serverCloser.join(30_000);
            assertEquals(List.of(), whileBusy, "only the loop's thread tears its connections down");
            assertEquals(List.of("user-loop SERVER_STOP"), disconnects, "once, on the loop thread");
            assertEquals(0, s.stats().active());
            assertTrue(loop.isClosed() && c.atEof());
        }
    }
}
