package evloop;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Who owns the loop, and where it is in its life, as one state under one monitor: which thread
 * owns it (the one inside {@code run()} or {@code runOnce()}, or briefly one running a query for
 * {@code call()}), whether that owner is serving (inside {@code run()}, so queued tasks get run),
 * and whether the loop is closing or closed. Deciding who finishes a close, and taking or giving
 * up ownership, happen under the same lock, so there is no moment when a close can be started
 * and then finished by nobody, or a closed loop can be taken again.
 *
 * <p>It also knows, per thread, which loop that thread is running (saved and restored around
 * each ownership, so a loop thread that briefly uses another, idle loop stays a loop thread):
 * blocking calls made from a loop's thread on another loop check it and refuse to wait.
 */
final class LoopOwner {
    private static final ThreadLocal<EventLoop> RUNNING_HERE = new ThreadLocal<>();

    /** How a close begins, as decided by {@link #startClosing}. */
    enum CloseStart {
        /** Another close came first. */
        ALREADY,
        /** Some thread owns the loop; it finishes the close when it lets go. */
        OWNER_FINISHES,
        /** Nobody owned the loop: the calling thread owns it now and finishes the close. */
        CALLER_FINISHES
    }

    // Written under the monitor; volatile so that the hot-path reads take no lock.
    private volatile Thread owner;
    private volatile boolean serving;
    private volatile boolean closing;
    private volatile boolean closed;
    /** The owner thread's RUNNING_HERE before it took the loop. Owner thread only. */
    private EventLoop previous;
    /** True while the owner is inside a turn. Owner thread only. */
    private boolean inTurn;
    /**
     * True while the owner holds the loop only for one call (a table call or a query from a
     * thread that does not run it): run() and runOnce() wait for it instead of failing.
     */
    private boolean borrowed;
    /** See {@link #afterClose}; null while empty. */
    private List<Runnable> afterClose;

    /** The loop the calling thread is running, or null. */
    static EventLoop current() {
        return RUNNING_HERE.get();
    }

    boolean isCurrent() {
        return owner == Thread.currentThread();
    }

    Thread thread() {
        return owner;
    }

    boolean isRunning() {
        return owner != null;
    }

    boolean isServing() {
        return serving;
    }

    boolean isClosing() {
        return closing;
    }

    boolean isClosed() {
        return closed;
    }

    /** Throws {@link IllegalStateException} once the loop is closed. */
    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("event loop is closed");
        }
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

    /** Takes the loop for the calling thread; false if another thread has it. Throws once closed. */
    synchronized boolean tryAcquire(EventLoop loop) {
        if (closed) {
            throw new IllegalStateException("event loop is closed");
        }
        if (owner != null) {
            return false;
        }
        take(loop);
        return true;
    }

    /**
     * Takes the loop for one call on a thread that does not run it; false if another thread
     * has it. Throws once closed. Without this a table call made "while nobody runs the loop"
     * could meet a run() starting on another thread, both on the same tables.
     */
    synchronized boolean tryBorrow(EventLoop loop) {
        if (!tryAcquire(loop)) {
            return false;
        }
        borrowed = true;
        return true;
    }

    /**
     * Takes the loop to run it; waits while another thread has only borrowed it for a call. The
     * wait and the taking are one synchronized step: between two, another borrow could slip in
     * and the run would find the loop taken.
     */
    synchronized void acquire(EventLoop loop) {
        awaitNotBorrowed();
        if (!tryAcquire(loop)) {
            Thread other = owner;
            throw new IllegalStateException(other == Thread.currentThread()
                ? "a turn is already running on this thread (a handler cannot run the loop)"
                : "event loop is being run by thread " + (other == null ? "?" : other.getName()));
        }
    }

    /** Holding this object's lock: waits (releasing it) while another thread has borrowed the loop. */
    private void awaitNotBorrowed() {
        while (borrowed && owner != null && owner != Thread.currentThread()) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while thread " + owner.getName()
                    + " held the loop for a call", e);
            }
        }
    }

    private void take(EventLoop loop) {
        owner = Thread.currentThread();
        previous = RUNNING_HERE.get();
        RUNNING_HERE.set(loop);
    }

    /** Marks the owner as inside run() (tasks handed to the loop get run) or not. */
    synchronized void serving(boolean on) {
        serving = on;
        notifyAll();
    }

    /**
     * Gives up ownership, unless a close has started and is not finished: then it returns
     * false, and the owner must finish the close first and call this again.
     */
    synchronized boolean releaseUnlessClosing() {
        if (closing && !closed) {
            return false;
        }
        if (previous == null) {
            RUNNING_HERE.remove();
        } else {
            RUNNING_HERE.set(previous);
        }
        previous = null;
        inTurn = false;
        borrowed = false;
        serving = false;
        owner = null;
        notifyAll();
        return true;
    }

    /** Starts a close; with nobody owning the loop, the caller owns it from here on and finishes it. */
    synchronized CloseStart startClosing(EventLoop loop) {
        if (closing) {
            return CloseStart.ALREADY;
        }
        closing = true;
        if (owner != null) {
            return CloseStart.OWNER_FINISHES;
        }
        take(loop);
        return CloseStart.CALLER_FINISHES;
    }

    /**
     * Runs {@code r} once the loop is closed (its tables and epoll fd gone), on the thread
     * that finishes the close; false if it is closed already, and the caller runs it itself.
     */
    synchronized boolean afterClose(Runnable r) {
        if (closed) {
            return false;
        }
        if (afterClose == null) {
            afterClose = new ArrayList<>();
        }
        afterClose.add(r);
        return true;
    }

    /** The close is finished: nothing can take the loop again. Owner only; returns what waits for it. */
    synchronized List<Runnable> markClosed() {
        closed = true;
        notifyAll();
        List<Runnable> waiting = afterClose == null ? List.of() : afterClose;
        afterClose = null;
        return waiting;
    }

    /** Waits up to {@code millis} until the loop is closed; false on timeout or interrupt (which stays set). */
    synchronized boolean awaitClosed(long millis) {
        return awaitUntil(millis, () -> closed);
    }

    /** Waits up to {@code millis} until nobody owns the loop, or its owner serves tasks. */
    synchronized boolean awaitIdleOrServing(long millis) {
        return awaitUntil(millis, () -> owner == null || serving);
    }

    /** Waits up to {@code millis} until nobody owns the loop. */
    synchronized boolean awaitIdle(long millis) {
        return awaitUntil(millis, () -> owner == null);
    }

    /** Wakes the threads waiting in {@link #awaitUntil}: an answer to a query is there. */
    synchronized void wakeWaiters() {
        notifyAll();
    }

    /**
     * Waits up to {@code millis} until {@code done}, which is checked again whenever this
     * monitor is notified (ownership, serving or closing changed, or {@link #wakeWaiters});
     * false on timeout or interrupt (which stays set).
     */
    synchronized boolean awaitUntil(long millis, java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!done.getAsBoolean()) {
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

    /** The refusal of a loop-thread-only call from a thread that does not own the loop. */
    IllegalStateException notOwner() {
        Thread o = owner;
        return new IllegalStateException("loop-thread-only call from " + Thread.currentThread().getName()
            + " while " + (o == null ? "another thread" : o.getName()) + " runs the loop; use execute()");
    }
}
