package evloop.tools;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.EventLoop;
import evloop.FdEvent;
import evloop.Interest;
import evloop.TestFds;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LoopControlTest {
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
            assertThrows(IllegalStateException.class, () -> LoopControl.of(loop).step(0), "stepping needs a pause");
            LoopControl.of(loop).pause();
            TestFds.writeBytes(p[1], 2);
            // The loop still answers while paused: these round trips run as tasks on its thread,
            // after the bytes are already in the pipe, and nothing is dispatched meanwhile.
            for (int i = 0; i < 5; i++) {
                assertEquals(1, loop.fds().size());
            }
            assertEquals(0, reads.get());
            assertEquals(List.of(new FdEvent(p[0], Set.of(Interest.IN))), LoopControl.of(loop).step(1000));
            assertEquals(1, reads.get(), "one step, one turn");
            LoopControl.of(loop).resume();
            await("the rest is dispatched after resume", 5000, () -> reads.get() == 2);
            TestFds.close(p);
        }
    }

    /** A loop thread never waits for another loop: stepping one from a handler refused at once. */
    @Test
    void steppingAnotherLoopFromALoopThreadRefusesAtOnce() throws Exception {
        try (EventLoop a = EventLoop.open(); EventLoop b = EventLoop.open()) {
            TestFds.runInBackground(a, "loop-a");
            TestFds.runInBackground(b, "loop-b");
            LoopControl.of(b).pause();
            Throwable refused = a.call(() -> {
                try {
                    LoopControl.of(b).step(2000);
                    return null;
                } catch (IllegalStateException e) {
                    return e;
                }
            });
            // Before, the step was queued on b and a waited out b's turn: no refusal came back.
            assertTrue(refused instanceof IllegalStateException && refused.getMessage().contains("another loop"),
                "refused, naming why: " + refused);
            LoopControl.of(b).resume();
        }
    }

    @Test
    void injectedPairsReachTheTables() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            int[] p = TestFds.pipe();
            List<Set<Interest>> seen = new CopyOnWriteArrayList<>();
            loop.onReadable(p[0], (fd, ev) -> seen.add(ev));
            LoopControl.of(loop).inject(List.of(new FdEvent(p[0], Set.of(Interest.IN, Interest.RDHUP))));
            assertEquals(List.of(Set.of(Interest.IN, Interest.RDHUP)), seen);
            List<Throwable> fromHandler = new CopyOnWriteArrayList<>();
            loop.setErrorHandler((l, fd, t) -> fromHandler.add(t));
            loop.onWritable(p[1], (fd, ev) -> {
                loop.offWritable(fd);
                LoopControl.of(loop).inject(List.of());
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
            LoopControl.of(loop).watch(50, 0, msg -> {
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
            assertEquals(1, LoopControl.of(loop).stalls());
            assertTrue(reports.get(0).contains("blocked-loop") && reports.get(0).contains("LoopControlTest"),
                reports.get(0));
            LoopControl.of(loop).watch(0, 0, null);
            TestFds.close(p);
        }
    }

    @Test
    void theWatchdogReportsASpinningLoop() {
        try (EventLoop loop = EventLoop.open()) {
            LoopControl.of(loop).watch(0, 1000, null);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (LoopControl.of(loop).spins() == 0 && System.nanoTime() < deadline) {
                loop.runOnce(0);
            }
            assertEquals(1, LoopControl.of(loop).spins(), "one report per episode");
        }
    }

    @Test
    void userCodeAttachedToTheLoopNeverKillsIt() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            List<Throwable> reported = new CopyOnWriteArrayList<>();
            loop.setErrorHandler((l, fd, t) -> {
                reported.add(t);
                throw new IllegalStateException("deliberate: the error handler fails too");
            });
            LoopControl.of(loop).recordTurns(8, r -> {
                throw new IllegalStateException("deliberate: a turn listener that throws");
            });
            loop.addHook(new evloop.LoopHook() {
                @Override
                public void beforeWait(EventLoop l) {
                    throw new IllegalStateException("deliberate: a hook that throws");
                }
            });
            loop.setPauseGate(l -> {
                throw new IllegalStateException("deliberate: a pause gate that throws");
            });
            Thread t = TestFds.runInBackground(loop, "loop");
            int[] p = TestFds.pipe();
            AtomicInteger reads = new AtomicInteger();
            loop.execute(() -> loop.onReadable(p[0], (fd, ev) -> {
                TestFds.readBytes(fd, 16);
                reads.incrementAndGet();
            }));
            TestFds.writeBytes(p[1], 1);
            await("the handler ran", 5000, () -> reads.get() == 1);
            TestFds.writeBytes(p[1], 1);
            await("and runs again", 5000, () -> reads.get() == 2);
            assertTrue(t.isAlive(), "the loop thread survived every one of them");
            assertEquals(2, LoopControl.of(loop).recentTurns().size(), "the turns were recorded all the same");
            assertTrue(reported.size() >= 3, "each failure was reported: " + reported.size());
            loop.setPauseGate(null);
            TestFds.close(p);
        }
    }
}
