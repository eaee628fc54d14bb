package evloop;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * N event loops, each with its own epoll fd and its own thread (the design of Monkey's worker
 * threads and Netty's EventLoopGroup). A connection lives on one loop for its whole life, so
 * no loop state is shared between threads; work for another loop goes through its
 * {@link EventLoop#execute}. The group owns its loops and threads: {@link #close()} closes
 * every loop and waits, boundedly, for the threads to end.
 */
public final class EventLoopGroup implements AutoCloseable {
    private static final long JOIN_MILLIS = 10_000;

    private final EventLoop[] loops;
    private final Thread[] threads;

    private EventLoopGroup(EventLoop[] loops, Thread[] threads) {
        this.loops = loops;
        this.threads = threads;
    }

    /**
     * Opens {@code n} loops and runs each on a thread named {@code name-i}; returns once all run.
     *
     * @param n how many loops, at least 1
     * @param name the threads' name prefix
     * @return the running group
     */
    public static EventLoopGroup start(int n, String name) {
        return start(n, name, false);
    }

    /**
     * Opens {@code n} loops on threads named {@code name-i}, daemon threads or not: a server's
     * threads keep the JVM alive, a client's need not.
     *
     * @param n how many loops, at least 1
     * @param name the threads' name prefix
     * @param daemon whether the threads are daemon threads
     * @return the running group
     */
    public static EventLoopGroup start(int n, String name, boolean daemon) {
        return start(n, name, daemon, Thread::new);
    }

    /** {@link #start(int, String, boolean)} with the threads made by {@code threads}: the seam tests fail it through. */
    static EventLoopGroup start(int n, String name, boolean daemon, ThreadFactory threadFactory) {
        if (n < 1) {
            throw new IllegalArgumentException("a group needs at least one loop, got " + n);
        }
        EventLoop[] loops = new EventLoop[n];
        Thread[] threads = new Thread[n];
        CountDownLatch running = new CountDownLatch(n);
        try {
            for (int i = 0; i < n; i++) {
                EventLoop loop = EventLoop.open();
                loops[i] = loop;
                // The latch counts down from a task: tasks run only once the loop runs.
                loop.execute(running::countDown);
                threads[i] = threadFactory.newThread(loop::run);
                threads[i].setName(name + "-" + i);
                threads[i].setDaemon(daemon);
                threads[i].start();
            }
            if (!running.await(JOIN_MILLIS, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("the loops of " + name + " did not start within " + JOIN_MILLIS + " ms");
            }
        } catch (InterruptedException e) {
            new EventLoopGroup(loops, threads).close();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting " + name, e);
        } catch (Throwable t) {
            // Any Throwable, an Error too (no memory for a thread's stack): the loops started
            // so far are this method's to close, since the caller never gets the group.
            new EventLoopGroup(loops, threads).close();
            throw t;
        }
        return new EventLoopGroup(loops, threads);
    }

    /** @return how many loops */
    public int size() {
        return loops.length;
    }

    /**
     * @param i an index below {@link #size()}
     * @return loop {@code i}
     */
    public EventLoop loop(int i) {
        return loops[i];
    }

    /** @return the loops, in order */
    public List<EventLoop> loops() {
        return List.of(loops);
    }

    /**
     * Waits until every loop's thread has ended.
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public void join() throws InterruptedException {
        for (Thread t : threads) {
            if (t != null) {
                t.join();
            }
        }
    }

    /** Closes every loop and waits up to 10 s for their threads; see {@link #close(Duration)}. */
    @Override
    public void close() {
        close(Duration.ofMillis(JOIN_MILLIS));
    }

    /**
     * Closes every loop at once (each runs the tasks it accepted and releases its fds) and waits
     * up to {@code wait}, in all, for the threads to end. On a loop thread (a handler closing
     * its own group) it does not wait: each loop finishes closing when its turn ends. A loop
     * whose handler blocks longer finishes closing when that handler returns.
     *
     * @param wait the longest wait for all the threads together
     * @return true if every thread has ended
     */
    public boolean close(Duration wait) {
        for (EventLoop l : loops) {
            if (l != null) {
                l.closeWithoutWaiting();
            }
        }
        if (EventLoop.current() != null) {
            return false;
        }
        long deadline = System.nanoTime() + wait.toNanos();
        boolean ended = true;
        for (Thread t : threads) {
            if (t == null) {
                continue;
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            try {
                t.join(Math.max(1, left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            ended &= !t.isAlive();
        }
        return ended;
    }
}
