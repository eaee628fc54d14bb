package evloop.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class NativeTest {
    private final Native nat = Native.get();

    @Test
    void epollEventLayoutMatchesTheKernel() throws Exception {
        // Class init ran the kernel self-test; check the documented figures for this architecture.
        boolean x86 = "amd64".equals(System.getProperty("os.arch")) || "x86_64".equals(System.getProperty("os.arch"));
        assertEquals(x86 ? 12 : 16, Epoll.EVENT_SIZE);
        assertEquals(x86 ? 4 : 8, Epoll.DATA_OFFSET);
        // And a second round trip with a negative data word and several events in one wait.
        try (Epoll ep = Epoll.open(4); EventFd a = EventFd.open(); EventFd b = EventFd.open()) {
            ep.add(a.fd(), Epoll.EPOLLIN | Epoll.EPOLLET, -2L);
            ep.add(b.fd(), Epoll.EPOLLIN, Long.MAX_VALUE);
            a.signal();
            b.signal();
            assertEquals(2, ep.await(1000));
            long d0 = ep.data(0);
            long d1 = ep.data(1);
            assertTrue((d0 == -2L && d1 == Long.MAX_VALUE) || (d1 == -2L && d0 == Long.MAX_VALUE));
            assertEquals(Epoll.EPOLLIN, ep.events(0));
            assertEquals(Epoll.EPOLLIN, ep.events(1));
        }
    }

    @Test
    void failuresNameTheCallTheFdAndErrno() throws Exception {
        try (Epoll ep = Epoll.open(1)) {
            int badFd = 100_000;
            NativeException e = assertThrows(NativeException.class, () -> ep.add(badFd, Epoll.EPOLLIN, 0));
            assertEquals("epoll_ctl(ADD, fd=100000): EBADF (Bad file descriptor)", e.getMessage());
            assertEquals("epoll_ctl", e.syscall());
            assertEquals(Errno.EBADF, e.errno());
            assertEquals("EBADF", e.errnoName());
        }
    }

    @Test
    void eagainIsAValueNotAnException() throws Exception {
        int[] p = Descriptors.get().pipe();
        try {
            assertEquals(Native.WOULD_BLOCK, nat.read(p[0], Native.allocate(16)));
            ByteBuffer big = Native.allocate(1 << 20);
            long written = 0;
            int n;
            while ((n = nat.write(p[1], big)) != Native.WOULD_BLOCK) {
                written += n;
                big.clear();
            }
            assertTrue(written > 0, "the pipe took some bytes before filling up");
        } finally {
            nat.closeQuietly(p[0]);
            nat.closeQuietly(p[1]);
        }
    }

    @Test
    void endOfStreamReadsZero() throws Exception {
        int[] p = Descriptors.get().pipe();
        nat.close(p[1]);
        assertEquals(0, nat.read(p[0], Native.allocate(16)));
        nat.close(p[0]);
    }

    /** A libc whose calls fail with the errnos queued in {@code errnos} before succeeding. */
    private static Native fake(Deque<Integer> errnos, AtomicInteger calls, long success) {
        AtomicInteger errno = new AtomicInteger();
        LibC libc = (LibC) Proxy.newProxyInstance(LibC.class.getClassLoader(), new Class<?>[] {LibC.class},
            (proxy, method, args) -> {
                if (method.getName().equals("strerror")) {
                    return "fake error " + args[0];
                }
                calls.incrementAndGet();
                Integer next = errnos.poll();
                errno.set(next == null ? 0 : next);
                boolean isLong = method.getReturnType() == long.class;
                long rc = next == null ? success : -1;
                return isLong ? (Object) rc : (Object) (int) rc;
            });
        return new Native(libc, jnr.ffi.Runtime.getSystemRuntime(), errno::get);
    }

    @Test
    void eintrIsRetried() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Native n = fake(new ArrayDeque<>(java.util.List.of(Errno.EINTR, Errno.EINTR)), calls, 5);
        assertEquals(5, n.read(3, 0L, 10));
        assertEquals(3, calls.get());
    }

    @Test
    void closeIsNeverRetried() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Native n = fake(new ArrayDeque<>(java.util.List.of(Errno.EINTR)), calls, 0);
        n.close(3);
        assertEquals(1, calls.get(), "close after EINTR must not be repeated: the fd is already gone");
    }

    @Test
    void otherErrorsThrowAfterOneCall() {
        AtomicInteger calls = new AtomicInteger();
        Native n = fake(new ArrayDeque<>(java.util.List.of(Errno.ECONNRESET)), calls, 0);
        NativeException e = assertThrows(NativeException.class, () -> n.send(3, 0L, 10));
        assertEquals("send(fd=3, len=10): ECONNRESET (fake error 104)", e.getMessage());
        assertTrue(e.isConnectionReset());
        assertEquals(1, calls.get());
    }
}
