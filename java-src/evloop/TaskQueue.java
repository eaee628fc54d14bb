package evloop;

import evloop.sys.EventFd;
import evloop.sys.NativeException;
import java.io.UncheckedIOException;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Work handed to the loop by other threads: a lock-free multi-producer queue and the eventfd
 * that wakes the loop from {@code epoll_wait}. Wake-ups are coalesced: while one is pending
 * (written but not yet drained by the loop) producers only enqueue, so a burst of a thousand
 * tasks costs one eventfd write, not a thousand.
 */
final class TaskQueue implements AutoCloseable {
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final AtomicLong wakeups = new AtomicLong();
    private final EventFd eventFd;

    TaskQueue(EventFd eventFd) {
        this.eventFd = eventFd;
    }

    int fd() {
        return eventFd.fd();
    }

    boolean isEmpty() {
        return tasks.isEmpty();
    }

    long wakeups() {
        return wakeups.get();
    }

    /** Queues {@code task}; with {@code wake}, makes sure the loop is or will be woken. */
    void add(Runnable task, boolean wake) {
        tasks.add(task);
        if (wake) {
            wake();
        }
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

    /** Runs the tasks queued before this call; later ones wait for the next turn. Returns how many ran. */
    int runQueued(Consumer<Runnable> runner) {
        int ran = 0;
        for (int budget = tasks.size(); budget > 0; budget--) {
            Runnable r = tasks.poll();
            if (r == null) {
                break;
            }
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
