package evloop;

import evloop.sys.EventFd;
import evloop.sys.NativeException;
import java.io.UncheckedIOException;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Work handed to the loop by other threads: a lock-free multi-producer queue and the eventfd
 * that wakes the loop from {@code epoll_wait}. Wake-ups are coalesced: while one is pending
 * (written but not yet drained by the loop) producers only enqueue, so a burst of a thousand
 * tasks costs one eventfd write, not a thousand.
 *
 * <p><b>Nothing accepted is dropped.</b> Once the loop starts closing, {@link #add} refuses work
 * from other threads with {@link RejectedExecutionException}; what was accepted before runs in
 * the loop's final {@link #runAll}. A producer that raced the close (it passed the check, then
 * the drain finished) takes its task back out and is rejected, as Netty's executors do; if it
 * cannot take it back, the drain already ran it. Either way the task ran or its submitter knows.
 */
final class TaskQueue implements AutoCloseable {
    private static final int PER_TURN = 1024;

    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final AtomicLong wakeups = new AtomicLong();
    private final EventFd eventFd;
    private volatile boolean shuttingDown;

    TaskQueue(EventFd eventFd) {
        this.eventFd = eventFd;
    }

    int fd() {
        return eventFd.fd();
    }

    EventFd eventFd() {
        return eventFd;
    }

    boolean isEmpty() {
        return tasks.isEmpty();
    }

    long wakeups() {
        return wakeups.get();
    }

    /**
     * Queues {@code task}. From the loop thread ({@code onLoop}) it is always accepted, so that
     * tasks running in the final drain can still queue follow-ups; from any other thread it is
     * refused once the loop is shutting down, and the loop is woken.
     */
    void add(Runnable task, boolean onLoop) {
        if (onLoop) {
            tasks.add(task);
            return;
        }
        if (shuttingDown) {
            throw rejected();
        }
        tasks.add(task);
        if (shuttingDown && tasks.remove(task)) {
            throw rejected();
        }
        wake();
    }

    private static RejectedExecutionException rejected() {
        return new RejectedExecutionException("event loop is closed");
    }

    /** From now on other threads' tasks are refused; call before the final {@link #runAll}. */
    void shutDown() {
        shuttingDown = true;
    }

    void wake() {
        if (wakePending.compareAndSet(false, true)) {
            wakeups.incrementAndGet();
            try {
                eventFd.signal();
            } catch (NativeException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** Called by the loop when the eventfd was readable. */
    void drainWakeup() {
        try {
            eventFd.drain();
        } catch (NativeException e) {
            throw new UncheckedIOException(e);
        }
        // Cleared after the drain and before the queue is read: a task queued after this point
        // signals again, so none can be left waiting for a wake-up that never comes.
        wakePending.set(false);
    }

    /**
     * Runs up to {@value #PER_TURN} queued tasks, so that tasks queueing tasks cannot starve the
     * fds; what is left waits for the next turn, which then does not block. Returns how many ran.
     */
    int runQueued(Consumer<Runnable> runner) {
        return runAll(runner, PER_TURN);
    }

    /** How many tasks wait now; O(n), for stop() only, never per turn. */
    int queued() {
        return tasks.size();
    }

    /** Runs tasks until the queue is empty (including what running tasks queue) or {@code limit} ran. */
    int runAll(Consumer<Runnable> runner, int limit) {
        int ran = 0;
        Runnable r;
        while (ran < limit && (r = tasks.poll()) != null) {
            ran++;
            runner.accept(r);
        }
        return ran;
    }

    @Override
    public void close() throws NativeException {
        eventFd.close();
    }
}
