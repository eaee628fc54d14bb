package evloop;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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

    @Test
    void aCancelThatReturnsTrueMeansTheTaskNeverRuns() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            TestFds.runInBackground(loop, "loop");
            int n = 20_000;
            Set<Integer> ran = ConcurrentHashMap.newKeySet();
            List<ScheduledTask> timers = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int id = i;
                timers.add(loop.schedule(0, TimeUnit.MILLISECONDS, () -> ran.add(id)));
            }
            // Cancel while the loop fires them: each cancel races one firing.
            boolean[] cancelled = new boolean[n];
            for (int i = 0; i < n; i++) {
                cancelled[i] = timers.get(i).cancel();
            }
            await("every timer to settle", 10_000, () -> timers.stream().allMatch(ScheduledTask::isDone));
            int both = 0;
            int neither = 0;
            for (int i = 0; i < n; i++) {
                if (cancelled[i] && ran.contains(i)) {
                    both++;
                }
                if (!cancelled[i] && !ran.contains(i)) {
                    neither++;
                }
            }
            assertEquals(0, both, "cancel() returned true for tasks that ran");
            assertEquals(0, neither, "every task either ran or was cancelled");
            assertFalse(timers.get(0).cancel(), "settled tasks cannot be cancelled");
        }
    }

    @Test
    void cancelledTimersLeaveTheHeapAndReleaseTheirTasks() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            TestFds.runInBackground(loop, "loop");
            List<ScheduledTask> timers = new ArrayList<>();
            for (int i = 0; i < 10_000; i++) {
                timers.add(loop.schedule(1, TimeUnit.HOURS, () -> {}));
            }
            WeakReference<byte[]>[] payload = holdPayload(loop, timers);
            assertEquals(10_001, loop.call(() -> loop.stats().pendingTimers()));
            timers.forEach(ScheduledTask::cancel);   // from this thread, not the loop's
            assertEquals(0, loop.call(() -> loop.stats().pendingTimers()), "gone by the next turn");
            timers.clear();
            for (int i = 0; i < 10 && payload[0].get() != null; i++) {
                System.gc();
            }
            assertNull(payload[0].get(), "a cancelled timer no longer holds its task");
            ScheduledTask onLoop = loop.call(() -> {
                ScheduledTask t = loop.schedule(1, TimeUnit.HOURS, () -> {});
                t.cancel();
                return t;
            });
            assertTrue(onLoop.isCancelled());
            assertEquals(0, loop.call(() -> loop.stats().pendingTimers()), "cancelled on the loop thread: removed at once");
        }
    }

    @SuppressWarnings("unchecked")
    private static WeakReference<byte[]>[] holdPayload(EventLoop loop, List<ScheduledTask> timers) {
        byte[] big = new byte[1 << 20];
        timers.add(loop.schedule(1, TimeUnit.HOURS, () -> System.out.println(big.length)));
        return new WeakReference[] {new WeakReference<>(big)};
    }

    @Test
    void closingCancelsPendingTimersVisibly() {
        EventLoop loop = EventLoop.open();
        ScheduledTask t = loop.schedule(1, TimeUnit.HOURS, () -> {});
        loop.close();
        assertTrue(t.isCancelled(), "not silently dropped: the task says it was cancelled");
    }
}
