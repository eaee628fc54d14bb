package evloop;

import evloop.sys.Epoll;
import evloop.sys.EventFd;
import evloop.sys.NativeException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The loop's state and the turn itself, behind {@link EventLoop}'s public face. A turn:
 * {@link LoopHook#beforeWait} hooks, {@code epoll_wait} (never past the next timer, not at all
 * with tasks queued), {@link LoopHook#afterWait} hooks, then, if pairs arrived,
 * {@link LoopHook#onTurn} hooks and the per-turn callback, then due timers, then queued tasks.
 * A held turn (the {@link PauseGate} said so) waits on the wake-up eventfd alone and runs tasks.
 * It reads the clock twice per turn, around the wait, and those two readings feed both the
 * utilisation counters and the timers. Loop thread only, except the volatile fields.
 */
final class LoopCore {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
    /** How long close() and stop() wait for a running turn to end. */
    private static final long EXIT_WAIT_MILLIS = 10_000;

    final Epoll epoll;
    final TaskQueue tasks;
    final FdTable table;
    final Dispatcher dispatcher;
    final Hooks hooks;
    final Ready ready;
    final LoopOwner owner = new LoopOwner();
    final TimerQueue timers = new TimerQueue(owner);
    final AtomicBoolean closing = new AtomicBoolean();
    private final EventLoop loop;

    volatile boolean stopRequested;
    volatile boolean held;
    volatile boolean closed;

    // Written by the loop thread only and read from anywhere: volatile is enough.
    private volatile long turns;
    private volatile long tasksRun;
    private volatile long timersFired;
    private volatile long idleNanos;
    private volatile long busyNanos;
    /** When the last wait returned: the start of the busy time that the next wait ends. */
    volatile long lastWake = System.nanoTime();

    LoopCore(EventLoop loop, Epoll epoll, EventFd wakeFd, int maxEvents) throws NativeException {
        this.loop = loop;
        this.epoll = epoll;
        this.tasks = new TaskQueue(wakeFd);
        this.table = new FdTable(epoll);
        this.dispatcher = new Dispatcher(loop, table);
        this.hooks = new Hooks(dispatcher);
        this.ready = new Ready(maxEvents);
        // Generation 0 tags the wake-up fd; FdTable never hands it out.
        epoll.add(wakeFd.fd(), Epoll.EPOLLIN, wakeFd.fd() & 0xffffffffL);
    }

    /** The body of run(): turns, or held turns, until stop; then what was queued before the stop. */
    void runUntilStopped() {
        while (!stopRequested) {
            held = !closing.get() && hooks.holds(loop);
            if (held) {
                heldTurn();
            } else {
                turn(-1);
            }
        }
        held = false;
        tasksRun += tasks.runQueued(dispatcher::guarded);
    }

    int turn(int timeoutMillis) {
        owner.enterTurn();
        try {
            long before = startWait();
            int n;
            try {
                n = epoll.await(waitMillis(timeoutMillis, before));
            } catch (NativeException e) {
                throw new UncheckedIOException(e);
            }
            long after = endWait(before, n);
            if (ready.fill(epoll, n, tasks.fd())) {
                tasks.drainWakeup();
            }
            if (ready.size() > 0) {
                hooks.onTurn(loop, turns, ready);
                dispatcher.turn(ready);
            }
            timersFired += timers.runDue(after, dispatcher::guarded);
            tasksRun += tasks.runQueued(dispatcher::guarded);
            return ready.size();
        } finally {
            owner.leaveTurn();
        }
    }

    private void heldTurn() {
        long before = startWait();
        if (tasks.isEmpty() && !stopRequested) {
            try {
                tasks.eventFd().await(-1);
            } catch (NativeException e) {
                throw new UncheckedIOException(e);
            }
        }
        endWait(before, 0);
        tasks.drainWakeup();
        tasksRun += tasks.runQueued(dispatcher::guarded);
    }

    private long startWait() {
        long now = System.nanoTime();
        busyNanos += now - lastWake;
        hooks.beforeWait(loop);
        return now;
    }

    private long endWait(long before, int pairs) {
        long now = System.nanoTime();
        idleNanos += now - before;
        lastWake = now;
        turns++;
        hooks.afterWait(loop, pairs);
        return now;
    }

    /** How long this turn may block: not at all with work queued, never past the next timer. */
    private int waitMillis(int requested, long now) {
        if (!tasks.isEmpty() || stopRequested) {
            return 0;
        }
        int timer = timers.millisUntilNext(now);
        if (timer < 0) {
            return requested;
        }
        return requested < 0 ? timer : Math.min(requested, timer);
    }

    /** Synthetic pairs through the per-turn callback. */
    void inject(List<FdEvent> pairs) {
        ready.fill(pairs, table);
        hooks.onTurn(loop, turns, ready);
        dispatcher.turn(ready);
    }

    LoopStats stats() {
        return new LoopStats(turns, dispatcher.events(), dispatcher.stale(), tasks.wakeups(), tasksRun,
            timersFired, table.count(), timers.size(), idleNanos, busyNanos);
    }

    void acquire() {
        if (closed) {
            throw new IllegalStateException("event loop is closed");
        }
        owner.acquire(loop);
    }

    /** See {@link EventLoop#stop()}. */
    void stop() {
        stopRequested = true;
        if (owner.isCurrent() || !owner.isRunning()) {
            return;
        }
        tasks.wake();
        if (LoopOwner.current() == null && !owner.awaitIdle(EXIT_WAIT_MILLIS)) {
            LOG.log(Level.WARNING, "evloop: loop thread " + owner.thread() + " is still in a turn after "
                + EXIT_WAIT_MILLIS + " ms: a handler is blocking it");
        }
    }

    /** See {@link EventLoop#close()}; without {@code wait} it never waits for a running turn. */
    void close(boolean wait) {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        tasks.shutDown();
        stopRequested = true;
        if (owner.isCurrent()) {
            return;   // leave() finishes the close when the turn ends
        }
        tasks.wake();
        if (owner.isRunning()) {
            // Never wait on another loop's thread: two loops closing each other would deadlock.
            boolean noWait = !wait || LoopOwner.current() != null;
            if (noWait || !owner.awaitIdle(EXIT_WAIT_MILLIS)) {
                if (!noWait) {
                    LOG.log(Level.WARNING, "evloop: loop thread " + owner.thread() + " is still in a turn after "
                        + EXIT_WAIT_MILLIS + " ms; the loop finishes closing when that turn ends");
                }
                return;
            }
        }
        // Nobody runs the loop (any more): finish the close here, as its owner.
        while (!closed) {
            try {
                acquire();
            } catch (IllegalStateException racedWithRun) {
                owner.awaitIdle(EXIT_WAIT_MILLIS);
                continue;
            }
            leave();
        }
    }

    /** The answer of a query handed to the loop: its own exception if it threw, a clear one on timeout. */
    static <T> T await(CompletableFuture<T> f, Duration timeout, Thread loopThread) {
        try {
            return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            if (cause instanceof Error) {
                throw (Error) cause;
            }
            throw new CompletionException(cause);
        } catch (TimeoutException e) {
            throw new IllegalStateException("event loop did not answer within " + timeout.toMillis()
                + " ms (its thread " + loopThread + " is busy or blocked)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the event loop to answer", e);
        }
    }

    /** Leaves ownership; the last owner of a closing loop finishes the close first. */
    void leave() {
        try {
            if (closing.get() && !closed) {
                finishClose();
            }
        } finally {
            stopRequested = closing.get();
            owner.release();
        }
    }

    /** Runs what was accepted, cancels the timers, releases the fds. The caller owns the loop. */
    private void finishClose() {
        tasksRun += tasks.runAll(dispatcher::guarded);
        int cancelled = timers.cancelAll();
        closed = true;
        if (cancelled > 0) {
            LOG.log(Level.DEBUG, "evloop: closing cancelled " + cancelled + " pending timers");
        }
        closeQuietly(epoll);
        try {
            tasks.close();
        } catch (NativeException e) {
            LOG.log(Level.WARNING, "evloop: closing the wake-up eventfd failed", e);
        }
    }

    static void closeQuietly(Epoll ep) {
        try {
            if (ep != null) {
                ep.close();
            }
        } catch (NativeException e) {
            LOG.log(Level.WARNING, "evloop: closing the epoll fd failed", e);
        }
    }
}
