package evloop;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PauseControlTest {
    @Test
    void aPausedLoopDispatchesNothingButStepsAndAnswers() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            TestFds.runInBackground(loop, "loop");
            int[] p = TestFds.pipe();
            AtomicInteger reads = new AtomicInteger();
            loop.execute(() -> loop.onReadable(p[0], (fd, ev) -> {
                TestFds.readBytes(fd, 1);
                reads.incrementAndGet();
            }));
            assertThrows(IllegalStateException.class, () -> loop.control().step(0), "stepping needs a pause");
            loop.control().pause();
            TestFds.writeBytes(p[1], 2);
            // The loop still answers while paused: these round trips run as tasks on its thread,
            // after the bytes are already in the pipe, and nothing is dispatched meanwhile.
            for (int i = 0; i < 5; i++) {
                assertEquals(1, loop.fds().size());
            }
            assertEquals(0, reads.get());
            assertEquals(List.of(new FdEvent(p[0], Set.of(Interest.IN))), loop.control().step(1000));
            assertEquals(1, reads.get(), "one step, one turn");
            loop.control().resume();
            await("the rest is dispatched after resume", 5000, () -> reads.get() == 2);
            TestFds.close(p);
        }
    }

    @Test
    void injectedPairsReachTheTables() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            int[] p = TestFds.pipe();
            List<Set<Interest>> seen = new CopyOnWriteArrayList<>();
            loop.onReadable(p[0], (fd, ev) -> seen.add(ev));
            loop.control().inject(List.of(new FdEvent(p[0], Set.of(Interest.IN, Interest.RDHUP))));
            assertEquals(List.of(Set.of(Interest.IN, Interest.RDHUP)), seen);
            List<Throwable> fromHandler = new CopyOnWriteArrayList<>();
            loop.setErrorHandler((l, fd, t) -> fromHandler.add(t));
            loop.onWritable(p[1], (fd, ev) -> {
                loop.offWritable(fd);
                loop.control().inject(List.of());
            });
            loop.runOnce(1000);
            assertTrue(fromHandler.get(0) instanceof IllegalStateException, "inject from a handler is refused");
            TestFds.close(p);
        }
    }

    @Test
    void theWatchdogReportsABlockedTurnOnceWithItsStack() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            TestFds.runInBackground(loop, "blocked-loop");
            List<String> reports = new CopyOnWriteArrayList<>();
            CountDownLatch reported = new CountDownLatch(1);
            loop.control().watch(50, 0, msg -> {
                reports.add(msg);
                reported.countDown();
            });
            int[] p = TestFds.pipe();
            loop.execute(() -> loop.onReadable(p[0], (fd, ev) -> {
                TestFds.readBytes(fd, 1);
                // A handler that blocks the loop thread until the watchdog has noticed.
                reported.await(10, TimeUnit.SECONDS);
            }));
            await("registered", 5000, () -> loop.fds().size() == 1);
            TestFds.writeBytes(p[1], 1);
            assertTrue(reported.await(10, TimeUnit.SECONDS), "the watchdog reported the stall");
            await("the turn ended", 5000, () -> loop.fds().size() == 1);
            assertEquals(1, loop.stats().stalls());
            assertTrue(reports.get(0).contains("blocked-loop") && reports.get(0).contains("PauseControlTest"),
                reports.get(0));
            loop.control().watch(0, 0, null);
            TestFds.close(p);
        }
    }

    @Test
    void theWatchdogReportsASpinningLoop() {
        try (EventLoop loop = EventLoop.open()) {
            loop.control().watch(0, 1000, null);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (loop.stats().spins() == 0 && System.nanoTime() < deadline) {
                loop.runOnce(0);
            }
            assertEquals(1, loop.stats().spins(), "one report per episode");
        }
    }
}
