package evloop;

import java.util.List;

/**
 * N event loops, each with its own epoll fd and its own thread (the design of Monkey's worker
 * threads and Netty's EventLoopGroup). A connection lives on one loop for its whole life, so
 * no loop state is shared between threads; work for another loop goes through its
 * {@link EventLoop#execute}. {@link #close()} stops every loop, idempotent and synchronous.
 */
public final class EventLoopGroup implements AutoCloseable {
    private final EventLoop[] loops;
    private final Thread[] threads;

    private EventLoopGroup(EventLoop[] loops, Thread[] threads) {
        this.loops = loops;
        this.threads = threads;
    }

    /** Opens {@code n} loops and runs each on a thread named {@code name-i}; returns once all run. */
    public static EventLoopGroup start(int n, String name) {
        if (n < 1) {
            throw new IllegalArgumentException("a group needs at least one loop: " + n);
        }
        EventLoop[] loops = new EventLoop[n];
        Thread[] threads = new Thread[n];
        try {
            for (int i = 0; i < n; i++) {
                loops[i] = EventLoop.open();
                threads[i] = new Thread(loops[i]::run, name + "-" + i);
                threads[i].start();
            }
        } catch (RuntimeException e) {
            for (EventLoop l : loops) {
                if (l != null) {
                    l.close();
                }
            }
            throw e;
        }
        for (int i = 0; i < n; i++) {
            while (!loops[i].isRunning() && threads[i].isAlive()) {
                Thread.onSpinWait();
            }
        }
        return new EventLoopGroup(loops, threads);
    }

    public int size() {
        return loops.length;
    }

    public EventLoop loop(int i) {
        return loops[i];
    }

    public List<EventLoop> loops() {
        return List.of(loops);
    }

    /** Waits until every loop's thread has ended. */
    public void join() throws InterruptedException {
        for (Thread t : threads) {
            t.join();
        }
    }

    @Override
    public void close() {
        for (EventLoop l : loops) {
            l.close();
        }
        for (Thread t : threads) {
            if (t != Thread.currentThread()) {
                try {
                    t.join(10_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
