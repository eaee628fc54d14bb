package evloop;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Which thread runs the loop right now. A thread becomes the owner when it enters
 * {@code run()} or {@code runOnce()} and stops being it when it leaves, so a REPL can step the
 * loop from whatever thread evaluates the form, while two threads can never turn it at once.
 */
final class LoopOwner {
    private final AtomicReference<Thread> owner = new AtomicReference<>();

    boolean isCurrent() {
        return owner.get() == Thread.currentThread();
    }

    Thread thread() {
        return owner.get();
    }

    boolean isRunning() {
        return owner.get() != null;
    }

    void acquire() {
        Thread me = Thread.currentThread();
        if (!owner.compareAndSet(null, me)) {
            Thread other = owner.get();
            throw new IllegalStateException(other == me
                ? "a turn is already running on this thread (a handler cannot run the loop)"
                : "event loop is being run by thread " + (other == null ? "?" : other.getName()));
        }
    }

    synchronized void release() {
        owner.set(null);
        notifyAll();
    }

    /** Waits until no thread runs the loop; returns false if interrupted. */
    synchronized boolean awaitIdle() {
        while (owner.get() != null) {
            try {
                wait();
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
