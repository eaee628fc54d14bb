package evloop;

/** A timer returned by {@link EventLoop#schedule}: cancel it from any thread. */
public final class ScheduledTask implements Comparable<ScheduledTask> {
    final long deadline;
    final long sequence;
    final Runnable task;
    private volatile boolean cancelled;
    private volatile boolean fired;

    ScheduledTask(long deadline, long sequence, Runnable task) {
        this.deadline = deadline;
        this.sequence = sequence;
        this.task = task;
    }

    /** Stops the task from running if it has not run yet; returns false if it already ran or was cancelled. */
    public boolean cancel() {
        if (fired || cancelled) {
            return false;
        }
        cancelled = true;
        return true;
    }

    public boolean isCancelled() {
        return cancelled;
    }

    public boolean isDone() {
        return fired || cancelled;
    }

    /** Marks it fired; returns false if it was cancelled first. */
    boolean fire() {
        if (cancelled) {
            return false;
        }
        fired = true;
        return true;
    }

    /** Earlier deadlines first; equal deadlines in the order they were scheduled. */
    @Override
    public int compareTo(ScheduledTask o) {
        int c = Long.compare(deadline - o.deadline, 0);
        return c != 0 ? c : Long.compare(sequence, o.sequence);
    }
}
