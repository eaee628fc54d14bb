package evloop;

import java.util.Arrays;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;

/**
 * The loop's timers: a binary heap on {@code System.nanoTime()} deadlines that also decides how
 * long {@code epoll_wait} may block. Each task knows its index in the heap (as in Netty's
 * {@code DefaultPriorityQueue}), so a cancel removes it in O(log n) instead of leaving it until
 * its deadline: per-connection timeouts can come and go without the heap growing.
 *
 * <p>The heap is loop-thread-only. Other threads hand new timers and cancellations in through
 * two concurrent inboxes, emptied into the heap before every timeout computation and every
 * firing; a cancel from another thread needs no wake-up, since a cancelled task never runs.
 */
final class TimerQueue {
    private ScheduledTask[] heap = new ScheduledTask[16];
    private int size;
    private final Queue<ScheduledTask> added = new ConcurrentLinkedQueue<>();
    private final Queue<ScheduledTask> removed = new ConcurrentLinkedQueue<>();
    private final LoopOwner owner;

    TimerQueue(LoopOwner owner) {
        this.owner = owner;
    }

    /** Timers in the heap (cancelled ones leave it); loop thread. */
    int size() {
        return size;
    }

    /** Adds {@code t}: directly on the loop thread, else through the inbox (the caller wakes the loop). */
    void add(ScheduledTask t) {
        if (owner.isCurrent()) {
            push(t);
        } else {
            added.add(t);
        }
    }

    /** Takes back a timer another thread is still handing in; false if the loop already has it. */
    boolean takeBack(ScheduledTask t) {
        return added.remove(t);
    }

    /** Called by {@link ScheduledTask#cancel()} on the thread that cancelled it. */
    void cancelled(ScheduledTask t) {
        if (owner.isCurrent()) {
            remove(t);
        } else {
            removed.add(t);
        }
    }

    private void drainInboxes() {
        ScheduledTask t;
        while ((t = added.poll()) != null) {
            if (!t.isCancelled()) {
                push(t);
            }
        }
        while ((t = removed.poll()) != null) {
            remove(t);
        }
    }

    /**
     * Milliseconds until the next deadline, rounded up so a timer due in 0.3 ms waits 1 ms
     * rather than spinning through zero-timeout waits; -1 when there is none.
     */
    int millisUntilNext(long nanoTime) {
        drainInboxes();
        if (size == 0) {
            return -1;
        }
        long nanos = heap[0].deadline - ScheduledTask.since(nanoTime);
        if (nanos <= 0) {
            return 0;
        }
        return (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
    }

    /** Runs every timer due at {@code nanoTime} through {@code runner}; returns how many ran. */
    int runDue(long nanoTime, Consumer<Runnable> runner) {
        drainInboxes();
        long now = ScheduledTask.since(nanoTime);
        int fired = 0;
        while (size > 0 && heap[0].deadline <= now) {
            ScheduledTask t = heap[0];
            remove(t);
            if (t.start()) {
                fired++;
                try {
                    runner.accept(t.task);
                } finally {
                    t.finished();
                }
            }
        }
        return fired;
    }

    /** Cancels every pending timer (the loop is closing); returns how many were cancelled. */
    int cancelAll() {
        int n = 0;
        ScheduledTask t;
        while ((t = added.poll()) != null) {
            n += t.cancelQuietly() ? 1 : 0;
        }
        removed.clear();
        for (int i = 0; i < size; i++) {
            n += heap[i].cancelQuietly() ? 1 : 0;
            heap[i].heapIndex = -1;
            heap[i] = null;
        }
        size = 0;
        return n;
    }

    // ---- the heap -----------------------------------------------------------------------

    private void push(ScheduledTask t) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        t.heapIndex = size;
        heap[size++] = t;
        siftUp(t.heapIndex);
    }

    private void remove(ScheduledTask t) {
        int i = t.heapIndex;
        if (i < 0 || i >= size || heap[i] != t) {
            return;
        }
        t.heapIndex = -1;
        ScheduledTask last = heap[--size];
        heap[size] = null;
        if (i < size) {
            heap[i] = last;
            last.heapIndex = i;
            siftDown(i);
            siftUp(last.heapIndex);
        }
        if (heap.length > 64 && size < heap.length / 4) {
            heap = Arrays.copyOf(heap, heap.length / 2);
        }
    }

    private void siftUp(int i) {
        ScheduledTask t = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            ScheduledTask p = heap[parent];
            if (t.compareTo(p) >= 0) {
                break;
            }
            heap[i] = p;
            p.heapIndex = i;
            i = parent;
        }
        heap[i] = t;
        t.heapIndex = i;
    }

    private void siftDown(int i) {
        ScheduledTask t = heap[i];
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < size && heap[right].compareTo(heap[child]) < 0) {
                child = right;
            }
            if (t.compareTo(heap[child]) <= 0) {
                break;
            }
            heap[i] = heap[child];
            heap[i].heapIndex = i;
            i = child;
        }
        heap[i] = t;
        t.heapIndex = i;
    }
}
