package evloop;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TimerQueueTest {
    @Test
    void timersFireInDeadlineOrderAndCancelWorks() {
        try (EventLoop loop = EventLoop.open()) {
            List<String> fired = new CopyOnWriteArrayList<>();
            loop.schedule(30, TimeUnit.MILLISECONDS, () -> fired.add("30"));
            loop.schedule(10, TimeUnit.MILLISECONDS, () -> fired.add("10"));
            ScheduledTask cancelled = loop.schedule(15, TimeUnit.MILLISECONDS, () -> fired.add("15"));
            loop.schedule(20, TimeUnit.MILLISECONDS, () -> fired.add("20"));
            loop.schedule(20, TimeUnit.MILLISECONDS, () -> fired.add("20b"));
            assertTrue(cancelled.cancel());
            assertFalse(cancelled.cancel(), "cancel is idempotent");
            TestFds.runInBackground(loop, "loop");
            await("timers to fire", 5000, () -> fired.size() == 4);
            assertEquals(List.of("10", "20", "20b", "30"), fired);
            assertEquals(4, loop.stats().timers());
        }
    }

    @Test
    void anIdleLoopBlocksInsteadOfSpinning() {
        try (EventLoop loop = EventLoop.open()) {
            List<Long> firedAtTurn = new CopyOnWriteArrayList<>();
            loop.schedule(200, TimeUnit.MILLISECONDS, () -> firedAtTurn.add(loop.stats().turns()));
            TestFds.runInBackground(loop, "loop");
            await("timer to fire", 5000, () -> !firedAtTurn.isEmpty());
            // Over 200 ms with nothing to do the loop turned only for the timer (and the wake-up
            // that delivered the schedule call), not once per millisecond.
            assertTrue(firedAtTurn.get(0) <= 4, "turns during an idle 200 ms: " + firedAtTurn.get(0));
        }
    }

    @Test
    void subMillisecondDelaysRoundUpInsteadOfSpinning() {
        try (EventLoop loop = EventLoop.open()) {
            List<Long> turns = new CopyOnWriteArrayList<>();
            for (int i = 0; i < 20; i++) {
                loop.schedule(300, TimeUnit.MICROSECONDS, () -> turns.add(loop.stats().turns()));
            }
            int ran = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (turns.size() < 20 && System.nanoTime() < deadline) {
                loop.runOnce(-1);
                ran++;
            }
            assertEquals(20, turns.size());
            assertTrue(ran <= 3, "a 0.3 ms timer waits 1 ms in one turn instead of many zero-timeout turns: " + ran);
        }
    }
}
