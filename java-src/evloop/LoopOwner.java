package evloop;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Which thread runs the loop right now. A thread becomes the owner when it enters
 * {@code run()} or {@code runOnce()} and stops being it when it leaves, so a REPL can step the
 * loop from whatever thread evaluates the form, while two threads can never turn it at once.
 * It also knows, per thread, which loop (if any) that thread is running, so that blocking calls
 * made from one loop's thread on another loop (closing a server, say) can refuse to wait and
 * cannot deadlock two loops that close each other.
 */
final class LoopOwner {
    private static final ThreadLocal<EventLoop> RUNNING_HERE = new ThreadLocal<>();

    private final AtomicReference<Thread> owner = new AtomicReference<>();
    /** True while the owner is inside a turn (loop thread only). */
    private boolean inTurn;

    /** The loop the calling thread is running, or null. */
    static EventLoop current() {
        return RUNNING_HERE.get();
    }

    boolean isCurrent() {
        return owner.get() == Thread.currentThread();
    }

    Thread thread() {
        return owner.get();
    }

    boolean isRunning() {
        return owner.get() != null;
    }

    boolean inTurn() {
        return inTurn && isCurrent();
    }

    void enterTurn() {
        inTurn = true;
    }

    void leaveTurn() {
        inTurn = false;
    }

    void acquire(EventLoop loop) {
        Thread me = Thread.currentThread();
        if (!owner.compareAndSet(null, me)) {
            Thread other = owner.get();
            throw new IllegalStateException(other == me
                ? "a turn is already running on this thread (a handler cannot run the loop)"
                : "event loop is being run by thread " + (other == null ? "?" : other.getName()));
        }
        RUNNING_HERE.set(loop);
    }

    synchronized void release() {
        RUNNING_HERE.remove();
        inTurn = false;
        owner.set(null);
        notifyAll();
    }

    /** Waits up to {@code millis} until no thread runs the loop; false if it still runs (or on interrupt, which stays set). */
    synchronized boolean awaitIdle(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (owner.get() != null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** Throws unless the caller owns the loop or nobody does. */
    void check() {
        Thread o = owner.get();
        if (o != null && o != Thread.currentThread()) {
            throw new IllegalStateException("loop-thread-only call from " + Thread.currentThread().getName()
                + " while " + o.getName() + " runs the loop; use execute()");
        }
    }
}
