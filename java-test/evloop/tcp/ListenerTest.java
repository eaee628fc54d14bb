package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.sys.Errno;
import evloop.sys.NativeException;
import evloop.sys.Sockets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ListenerTest {
    /** accept4 failing with each errno in turn while {@code failWith} is set. */
    private static TcpServer serverWhoseAcceptFails(AtomicReference<Integer> failWith, AtomicInteger calls) {
        ServerConfig cfg = new ServerConfig().port(0).acceptRetry(Duration.ofMillis(20));
        cfg.acceptor = (fd, peer) -> {
            calls.incrementAndGet();
            Integer errno = failWith.get();
            if (errno != null) {
                throw new NativeException("accept4", "fd=" + fd, errno, "injected by the test");
            }
            return Sockets.get().accept(fd, peer);
        };
        return TcpServer.start(cfg, (c, frame) -> c.send(frame));
    }

    @Test
    void outOfKernelMemoryPausesAcceptingLikeOutOfFdsInsteadOfSpinning() throws Exception {
        for (int errno : new int[] {Errno.ENOBUFS, Errno.ENOMEM, Errno.EMFILE, Errno.ENFILE}) {
            AtomicReference<Integer> failWith = new AtomicReference<>(errno);
            AtomicInteger calls = new AtomicInteger();
            try (TcpServer s = serverWhoseAcceptFails(failWith, calls);
                 Client c = new Client(s.port())) {
                c.send("waits in the backlog\n");
                await("several paused retries", 10_000, () -> s.stats().acceptPauses() >= 5);
                long pauses = s.stats().acceptPauses();
                assertTrue(calls.get() <= pauses + 2,
                    Errno.name(errno) + ": one accept4 per retry, not a tight loop: " + calls.get() + " calls, "
                        + pauses + " pauses");
                failWith.set(null);
                assertEquals("waits in the backlog\n", c.line(), Errno.name(errno) + ": served once it clears");
            }
        }
    }

    @Test
    void aPerConnectionAcceptErrorSkipsThatConnectionOnly() throws Exception {
        AtomicReference<Integer> failWith = new AtomicReference<>(Errno.ECONNABORTED);
        AtomicInteger calls = new AtomicInteger();
        try (TcpServer s = serverWhoseAcceptFails(failWith, calls)) {
            try (Client c = new Client(s.port())) {
                await("the aborted accept to be tried", 10_000, () -> calls.get() >= 1);
                failWith.set(null);
                c.send("next\n");
                assertEquals(0, s.stats().acceptPauses(), "ECONNABORTED does not pause accepting");
                await("the connection to be accepted on the next event", 10_000, () -> s.stats().accepted() >= 1
                    || calls.get() > 256);
            }
        }
    }
}
