package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
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
}
