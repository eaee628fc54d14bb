package evloop;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A timer returned by {@link EventLoop#schedule}: cancel it from any thread.
 *
 * <p>Its life is one atomic state, SCHEDULED then exactly one of RUNNING (then DONE) or
 * CANCELLED, so {@link #cancel()} and the loop firing the timer cannot both win: a cancel that
 * returns true guarantees the task never runs, one that returns false means it ran, is running,
 * or was cancelled before. A cancelled timer leaves the loop's heap at once when cancelled on
 * the loop thread, and at the loop's next turn otherwise, so timers can be created and cancelled
 * freely without the heap growing.
 */
public final class ScheduledTask implements Comparable<ScheduledTask> {
    private static final int SCHEDULED = 0;
    private static final int RUNNING = 1;
    private static final int DONE = 2;
    private static final int CANCELLED = 3;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(ScheduledTask.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** System.nanoTime() when this class loaded: deadlines count from here, so they stay positive. */
    private static final long EPOCH = System.nanoTime();

    /** Nanoseconds since {@link #EPOCH}, never negative: what deadlines are compared on. */
    final long deadline;
    final long sequence;
    final Runnable task;
    private final TimerQueue queue;
    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state;
    /** Position in the loop's heap, -1 when not in it; loop thread only. */
    int heapIndex = -1;

    ScheduledTask(TimerQueue queue, long deadline, long sequence, Runnable task) {
        this.queue = queue;
        this.deadline = deadline;
        this.sequence = sequence;
        this.task = task;
    }

    /**
     * Stops the task from running if it has not started.
     *
     * @return true if this call cancelled it (it will never run); false if it has run, is
     *     running, or was cancelled already
     */
    public boolean cancel() {
        if (!STATE.compareAndSet(this, SCHEDULED, CANCELLED)) {
            return false;
        }
        queue.cancelled(this);
        return true;
    }

    /** @return true if it was cancelled before it ran (also by the loop closing) */
    public boolean isCancelled() {
        return state == CANCELLED;
    }

    /** @return true once it has run or was cancelled */
    public boolean isDone() {
        int s = state;
        return s == DONE || s == CANCELLED;
    }

    /** Claims the task for running; false if it was cancelled first. Loop thread. */
    boolean start() {
        return STATE.compareAndSet(this, SCHEDULED, RUNNING);
    }

    void finished() {
        state = DONE;
    }

    /** Cancels without telling the queue, for the queue itself (at close). */
    boolean cancelQuietly() {
        return STATE.compareAndSet(this, SCHEDULED, CANCELLED);
    }

    /**
     * The deadline of a timer due {@code delayNanos} after {@code nanoTime}, on this class's
     * clock. It saturates: a delay of "forever" (Long.MAX_VALUE nanoseconds) is the latest
     * deadline, never one that wraps around to before everything else.
     */
    static long deadline(long nanoTime, long delayNanos) {
        long now = since(nanoTime);
        long d = Math.max(0, delayNanos);
        return d > Long.MAX_VALUE - now ? Long.MAX_VALUE : now + d;
    }

    /** {@code nanoTime} on this class's clock. */
    static long since(long nanoTime) {
        return Math.max(0, nanoTime - EPOCH);
    }

    /** Earlier deadlines first; equal deadlines in the order they were scheduled. */
    @Override
    public int compareTo(ScheduledTask o) {
        int c = Long.compare(deadline, o.deadline);
        return c != 0 ? c : Long.compare(sequence, o.sequence);
    }

    @Override
    public String toString() {
        String[] names = {"scheduled", "running", "done", "cancelled"};
        return "ScheduledTask[" + names[state] + "]";
    }
}
