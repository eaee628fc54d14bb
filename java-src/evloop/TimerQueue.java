package evloop;

import java.util.PriorityQueue;
import java.util.function.Consumer;

/**
 * The loop's timers: a binary heap on {@code System.nanoTime()} deadlines that also decides
 * how long {@code epoll_wait} may block. Cancelled timers stay in the heap until their deadline
 * and are skipped then, so cancel costs nothing on the loop thread. Loop thread only.
 */
final class TimerQueue {
    private final PriorityQueue<ScheduledTask> heap = new PriorityQueue<>();

    void add(ScheduledTask t) {
        heap.add(t);
    }

    int size() {
        return heap.size();
    }

    /**
     * Milliseconds until the next live deadline, rounded up so a timer due in 0.3 ms waits
     * 1 ms rather than spinning through zero-timeout waits; -1 when there is none.
     */
    int millisUntilNext(long now) {
        ScheduledTask t;
        while ((t = heap.peek()) != null && t.isCancelled()) {
            heap.poll();
        }
        if (t == null) {
            return -1;
        }
        long nanos = t.deadline - now;
        if (nanos <= 0) {
            return 0;
        }
        return (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
    }

    /** Runs every timer due at {@code now} through {@code runner}; returns how many fired. */
    int runDue(long now, Consumer<ScheduledTask> runner) {
        int fired = 0;
        ScheduledTask t;
        while ((t = heap.peek()) != null && t.deadline - now <= 0) {
            heap.poll();
            if (t.fire()) {
                fired++;
                runner.accept(t);
            }
        }
        return fired;
    }
}
