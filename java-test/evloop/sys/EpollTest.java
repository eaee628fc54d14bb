package evloop.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** How the blocking waits treat EINTR: retried, but never for longer than the caller asked. */
class EpollTest {
    private static final long SIGNAL_EVERY_MILLIS = 40;

    /**
     * A libc whose epoll_wait and poll block for {@link #SIGNAL_EVERY_MILLIS} and then fail with
     * EINTR {@code interrupts} times (a periodic signal), then time out; it records the timeouts.
     */
    private static Native interruptedEvery(int interrupts, List<Integer> timeouts) {
        AtomicInteger errno = new AtomicInteger();
        AtomicInteger calls = new AtomicInteger();
        LibC libc = (LibC) Proxy.newProxyInstance(LibC.class.getClassLoader(), new Class<?>[] {LibC.class},
            (proxy, method, args) -> {
                if (method.getName().equals("strerror")) {
                    return "fake error " + args[0];
                }
                int timeout = (Integer) args[args.length - 1];
                timeouts.add(timeout);
                if (calls.getAndIncrement() < interrupts) {
                    // Stands for the kernel blocking until the signal arrives.
                    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SIGNAL_EVERY_MILLIS);
                    while (System.nanoTime() - until < 0) {
                        Thread.onSpinWait();
                    }
                    errno.set(Errno.EINTR);
                    return -1;
                }
                errno.set(0);
                return 0;
            });
        return new Native(libc, jnr.ffi.Runtime.getSystemRuntime(), errno::get);
    }

    private static void assertEachRetryWaitsOnlyTheRest(int asked, List<Integer> timeouts) {
        assertEquals(4, timeouts.size(), "three EINTRs, then the wait that timed out: " + timeouts);
        assertEquals(asked, timeouts.get(0));
        for (int i = 1; i < timeouts.size(); i++) {
            long spent = i * SIGNAL_EVERY_MILLIS;
            assertTrue(timeouts.get(i) >= 0 && timeouts.get(i) <= Math.max(0, asked - spent + 1),
                "retry " + i + " after " + spent + " ms must wait at most the rest of " + asked + " ms: " + timeouts);
        }
    }

    @Test
    void epollWaitRetriesEintrWithTheTimeLeftNotTheWholeTimeoutAgain() throws Exception {
        List<Integer> timeouts = new CopyOnWriteArrayList<>();
        Epoll ep = new Epoll(interruptedEvery(3, timeouts), -1, 1);
        assertEquals(0, ep.await(200));
        assertEachRetryWaitsOnlyTheRest(200, timeouts);
    }

    @Test
    void aSignalStormEndsTheWaitAsAPollOnceTheTimeIsUp() throws Exception {
        List<Integer> timeouts = new CopyOnWriteArrayList<>();
        Epoll ep = new Epoll(interruptedEvery(3, timeouts), -1, 1);
        assertEquals(0, ep.await(50));
        assertEachRetryWaitsOnlyTheRest(50, timeouts);   // the last retries only poll
    }

    @Test
    void anInfiniteWaitStaysInfiniteAcrossEintr() throws Exception {
        List<Integer> timeouts = new CopyOnWriteArrayList<>();
        Epoll ep = new Epoll(interruptedEvery(2, timeouts), -1, 1);
        assertEquals(0, ep.await(-1));
        assertEquals(List.of(-1, -1, -1), timeouts);
    }

    @Test
    void pollRetriesEintrWithTheTimeLeftToo() throws Exception {
        List<Integer> timeouts = new CopyOnWriteArrayList<>();
        Native nat = interruptedEvery(3, timeouts);
        assertEquals(false, nat.poll(0L, 200));
        assertEachRetryWaitsOnlyTheRest(200, timeouts);
    }
}
