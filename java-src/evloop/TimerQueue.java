package evloop;

import java.util.PriorityQueue;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;

/**
 * The loop's timers: a binary heap on {@code System.nanoTime()} deadlines that also decides
 * how long {@code epoll_wait} may block. Cancelled timers stay in the heap until their deadline
 * and are skipped then, so cancel costs nothing on the loop thread. Timers scheduled from other
 * threads wait in a concurrent inbox that is emptied into the heap before every timeout
 * computation and every firing, so timers scheduled before a turn are ordered together by
 * deadline, whatever else is queued. The heap is loop-thread-only.
 */
final class TimerQueue {
    private final PriorityQueue<ScheduledTask> heap = new PriorityQueue<>();
    private final Queue<ScheduledTask> inbox = new ConcurrentLinkedQueue<>();

    /** Loop thread. */
    void add(ScheduledTask t) {
        heap.add(t);
    }

    /** Any thread; the caller wakes the loop. */
    void offer(ScheduledTask t) {
        inbox.add(t);
    }

    private void drainInbox() {
        ScheduledTask t;
        while ((t = inbox.poll()) != null) {
            heap.add(t);
        }
    }

    /**
     * Milliseconds until the next live deadline, rounded up so a timer due in 0.3 ms waits
     * 1 ms rather than spinning through zero-timeout waits; -1 when there is none.
     */
    int millisUntilNext(long now) {
        drainInbox();
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
        drainInbox();
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
