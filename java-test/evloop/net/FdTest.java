package evloop.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.EventLoop;
import evloop.TestFds;
import evloop.sys.Descriptors;
import evloop.sys.Native;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Fd.closeOn from a thread other than the running loop's: the number must not be freed while
 * the loop's tables still hold its registration, or the next fd given that number is confused
 * with the old one.
 */
class FdTest {
    /** Registers {@code fd} for reading on the loop's own thread. */
    private static void onReadable(EventLoop loop, int fd, AtomicInteger calls) {
        loop.call(() -> {
            loop.onReadable(fd, (f, ev) -> {
                calls.incrementAndGet();
                TestFds.readBytes(f, 16);
            });
            return null;
        });
    }

    /** Same bits as the stale entry: the tables issued no epoll_ctl, and the new fd was never heard. */
    @Test
    void aRegistrationUnderANumberClosedFromAnotherThreadIsHeard() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            TestFds.runInBackground(loop, "loop");
            int[] p = TestFds.pipe();
            Fd old = Fd.own(p[0]);
            AtomicInteger oldCalls = new AtomicInteger();
            onReadable(loop, p[0], oldCalls);
            old.closeOn(loop);                  // the owner lets go, from this thread
            assertFalse(old.isOpen());
            loop.call(() -> null);              // the loop has done what closeOn handed it, if anything
            int[] q = TestFds.pipe();           // the lowest free number: p[0]'s
            assertEquals(p[0], q[0], "the kernel reused the number");
            AtomicInteger newCalls = new AtomicInteger();
            onReadable(loop, q[0], newCalls);
            TestFds.writeBytes(q[1], 1);
            TestFds.await("the handler of the fd that reused the number", 5000, () -> newCalls.get() == 1);
            assertEquals(0, oldCalls.get());
            loop.call(() -> {
                loop.remove(q[0]);
                return null;
            });
            TestFds.close(q[0], q[1], p[1]);
        }
    }

    /** Other bits: the tables re-added the number with the old reader still in them, which got the new fd's events. */
    @Test
    void theOldOwnersHandlerNeverSeesTheEventsOfAnFdGivenItsNumber() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            TestFds.runInBackground(loop, "loop");
            int[] s = Descriptors.get().socketPair();
            Fd old = Fd.own(s[0]);
            AtomicInteger oldCalls = new AtomicInteger();
            onReadable(loop, s[0], oldCalls);
            old.closeOn(loop);
            loop.call(() -> null);
            int[] t = Descriptors.get().socketPair();
            assertEquals(s[0], t[0], "the kernel reused the number");
            AtomicInteger writable = new AtomicInteger();
            loop.call(() -> {
                loop.onWritable(t[0], (f, ev) -> {
                    writable.incrementAndGet();
                    loop.offWritable(f);
                });
                return null;
            });
            TestFds.await("the new fd to be writable", 5000, () -> writable.get() == 1);
            TestFds.writeBytes(t[1], 1);   // makes t[0] readable: nobody reads it
            // Readiness is set by the write itself, so the turn that answers this query has
            // dispatched t[0]'s IN, if the tables ask epoll for it.
            loop.call(() -> null);
            assertEquals(0, oldCalls.get(), "the new fd's events reached the old owner's handler");
            loop.call(() -> {
                loop.remove(t[0]);
                return null;
            });
            TestFds.close(t[0], t[1], s[1]);
        }
    }

    private static boolean numberTaken(int fd) {
        return java.nio.file.Files.exists(java.nio.file.Path.of("/proc/self/fd/" + fd), java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * With the loop's thread blocked in a handler, and then with the loop closing, closeOn
     * from another thread releases the socket at once (the peer sees end of stream) but keeps
     * the number until the loop has taken it out of its tables.
     */
    @Test
    void offTheLoopTheSocketGoesAtOnceAndTheNumberWhenTheLoopLetsGo() throws Exception {
        EventLoop loop = EventLoop.open();
        Thread t = TestFds.runInBackground(loop, "loop");
        java.util.concurrent.CountDownLatch wedged = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        int[] a = Descriptors.get().socketPair();
        int[] b = Descriptors.get().socketPair();
        onReadable(loop, a[0], new AtomicInteger());
        onReadable(loop, b[0], new AtomicInteger());
        loop.execute(() -> {
            wedged.countDown();
            try {
                release.await(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(wedged.await(10, java.util.concurrent.TimeUnit.SECONDS));
        Fd.own(a[0]).closeOn(loop);   // the loop is blocked: it takes the number when it can
        assertEquals(0, Native.get().read(a[1], Native.allocate(1)), "the peer sees end of stream at once");
        assertTrue(numberTaken(a[0]), "the number is still the loop's");
        Thread closer = new Thread(loop::close, "closer");
        closer.start();
        TestFds.await("the close to start", 5000, () -> closer.getState() == Thread.State.TIMED_WAITING);
        Fd.own(b[0]).closeOn(loop);   // the loop is closing: the number goes after its close
        assertEquals(0, Native.get().read(b[1], Native.allocate(1)), "the peer sees end of stream at once");
        assertTrue(numberTaken(b[0]), "the number is still the closing loop's");
        release.countDown();
        closer.join(10_000);
        t.join(10_000);
        assertTrue(loop.isClosed());
        assertFalse(numberTaken(a[0]) || numberTaken(b[0]), "both numbers freed once the loop let go of them");
        TestFds.close(a[1], b[1]);
    }
}
