package evloop;

import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * {@link EventLoop#call(Supplier, Duration)}: a query run as the loop's owner, and its answer.
 * The calling thread runs it itself when it owns the loop or nobody does (it borrows the loop
 * for the query); while a thread serves the loop, the query is queued for it and the caller
 * waits, boundedly, on the owner's monitor, which wakes it when the answer is there and also
 * when the loop stops serving: a query queued just after {@code stop()}'s last drain is taken
 * back then and run by the caller on the now idle loop, instead of waiting out its timeout.
 *
 * <p>A loop's thread never waits for another loop: two loops calling each other would block
 * both until the timeout. From there a query runs only on a loop nobody runs; otherwise it is
 * refused at once.
 */
final class Calls {
    private final EventLoop loop;
    private final LoopCore core;
    private final LoopOwner owner;

    Calls(EventLoop loop, LoopCore core) {
        this.loop = loop;
        this.core = core;
        this.owner = core.owner;
    }

    <T> T call(Supplier<T> query, Duration timeout) {
        if (owner.isCurrent()) {
            return query.get();
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (owner.tryBorrow(loop)) {
                try {
                    return query.get();
                } finally {
                    core.leave();
                }
            }
            if (LoopOwner.current() != null) {
                throw refused();
            }
            if (owner.isServing()) {
                Query<T> q = new Query<>(query, owner);
                core.tasks.add(q, false);   // RejectedExecutionException once closing
                if (awaitAnswer(q, deadline, timeout)) {
                    return q.answer();
                }
                continue;   // taken back from a loop that stopped serving: ask again
            }
            // Another thread holds the loop for a moment (a query, a step): wait for it to let go.
            if (!owner.awaitIdleOrServing(millisLeft(deadline))) {
                throw notAnswered(timeout);
            }
        }
    }

    /** True once {@code q} is answered; false if the loop stopped serving and {@code q} was taken back unrun. */
    private boolean awaitAnswer(Query<?> q, long deadline, Duration timeout) {
        while (true) {
            boolean settled = owner.awaitUntil(millisLeft(deadline),
                () -> q.isDone() || (q.isPending() && !owner.isServing()));
            if (q.isDone()) {
                return true;
            }
            if (q.takeBack()) {
                if (settled) {
                    return false;
                }
                throw notAnswered(timeout);   // a query nobody waits for any more does not run later
            }
            if (!settled) {
                throw notAnswered(timeout);   // it is running, but too late
            }
            // It started running between the wake-up and the take-back: its answer comes next.
        }
    }

    private static long millisLeft(long deadline) {
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    private IllegalStateException notAnswered(Duration timeout) {
        if (Thread.currentThread().isInterrupted()) {
            return new IllegalStateException("interrupted while waiting for the event loop to answer",
                new InterruptedException());
        }
        return new IllegalStateException("event loop did not answer within " + timeout.toMillis()
            + " ms (its thread " + owner.thread() + " is busy or blocked)");
    }

    private RuntimeException refused() {
        if (owner.isClosing()) {
            return new RejectedExecutionException("event loop is closing");
        }
        return new IllegalStateException("call() from " + Thread.currentThread().getName()
            + ", which runs an event loop, on another loop run by " + owner.thread()
            + ": a loop thread never waits for another loop (two loops calling each other would"
            + " block both); use submit() or execute() and take the answer asynchronously");
    }

    /** A queued query: runs once, unless its caller took it back first; the answer wakes the caller. */
    private static final class Query<T> implements Runnable {
        private static final int PENDING = 0;
        private static final int RUNNING = 1;
        private static final int DONE = 2;
        private static final int TAKEN_BACK = 3;

        private final Supplier<T> query;
        private final LoopOwner owner;
        private final AtomicInteger state = new AtomicInteger(PENDING);
        private T answer;
        private Throwable failure;

        Query(Supplier<T> query, LoopOwner owner) {
            this.query = query;
            this.owner = owner;
        }

        @Override
        public void run() {
            if (!state.compareAndSet(PENDING, RUNNING)) {
                return;
            }
            try {
                answer = query.get();
            } catch (Throwable t) {
                failure = t;
            }
            state.set(DONE);   // volatile: publishes answer and failure
            owner.wakeWaiters();
        }

        boolean isPending() {
            return state.get() == PENDING;
        }

        boolean isDone() {
            return state.get() == DONE;
        }

        boolean takeBack() {
            return state.compareAndSet(PENDING, TAKEN_BACK);
        }

        /** The answer, or what the query threw, as it threw it. */
        T answer() {
            Throwable t = failure;
            if (t == null) {
                return answer;
            }
            if (t instanceof RuntimeException) {
                throw (RuntimeException) t;
            }
            if (t instanceof Error) {
                throw (Error) t;
            }
            throw new CompletionException(t);
        }
    }
}
