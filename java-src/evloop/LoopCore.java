package evloop;

import evloop.sys.Epoll;
import evloop.sys.EventFd;
import evloop.sys.NativeException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The loop's state and the turn itself, behind {@link EventLoop}'s public face. A turn:
 * {@link LoopHook#beforeWait} hooks, {@code epoll_wait} (never past the next timer, not at all
 * with tasks queued), {@link LoopHook#afterWait} hooks, then, if pairs arrived,
 * {@link LoopHook#onTurn} hooks and the per-turn callback, then due timers, then queued tasks.
 * A held turn (the {@link PauseGate} said so) waits on the wake-up eventfd alone and runs tasks.
 * It reads the clock twice per turn, around the wait, and those two readings feed both the
 * utilisation counters and the timers; {@link #stats()} counts a turn still running from the
 * second. Loop thread only, except the volatile fields and the entry points EventLoop forwards
 * from any thread (run, runOnce, schedule, stop, close).
 */
final class LoopCore {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
    /** How long close() and stop() wait for a running turn to end. */
    private static final long EXIT_WAIT_MILLIS = 10_000;

    final Epoll epoll;
    final TaskQueue tasks;
    final FdTable table;
    final Dispatcher dispatcher;
    /** dispatcher::guarded, built once: a bound method reference is a new object each time it is evaluated. */
    private final java.util.function.Consumer<Runnable> guarded;
    final Hooks hooks;
    final Ready ready;
    final LoopOwner owner = new LoopOwner();
    final TimerQueue timers = new TimerQueue(owner);
    private final EventLoop loop;
    private final AtomicLong timerSequence = new AtomicLong();

    volatile boolean stopRequested;
    volatile boolean held;
    /** True while the per-turn callback runs on {@link #ready}: nothing may refill it meanwhile. */
    boolean dispatching;

    /** The two clock reads per turn, the utilisation figures and the counters. */
    final TurnClock clock = new TurnClock();

    LoopCore(EventLoop loop, Epoll epoll, EventFd wakeFd, int maxEvents) throws NativeException {
        this.loop = loop;
        this.epoll = epoll;
        this.tasks = new TaskQueue(wakeFd);
        this.table = new FdTable(epoll);
        this.dispatcher = new Dispatcher(loop, table);
        this.guarded = dispatcher::guarded;
        this.hooks = new Hooks(dispatcher);
        this.ready = new Ready(maxEvents);
        // Generation 0 tags the wake-up fd; FdTable never hands it out.
        epoll.add(wakeFd.fd(), Epoll.EPOLLIN, wakeFd.fd() & 0xffffffffL);
    }

    /** Opens the loop's epoll fd and eventfd and the core around them; nothing leaks if any step fails. */
    static LoopCore open(EventLoop loop, int maxEvents) {
        Epoll ep = null;
        EventFd efd = null;
        try {
            ep = Epoll.open(maxEvents);
            efd = EventFd.open();
            return new LoopCore(loop, ep, efd, maxEvents);
        } catch (NativeException e) {
            closeQuietly(ep);
            closeQuietly(efd);
            throw new UncheckedIOException(e);
        } catch (Throwable t) {
            // Any Throwable: an OutOfMemoryError for the turn's arrays must not leak the fds.
            closeQuietly(ep);
            closeQuietly(efd);
            throw t;
        }
    }

    /** See {@link EventLoop#run()}. */
    void run() {
        owner.acquire(loop);
        try {
            runUntilStopped();
        } finally {
            leave();
        }
    }

    /** See {@link EventLoop#runOnce(int)}. */
    int runOnce(int timeoutMillis) {
        if (owner.isCurrent()) {
            if (owner.inTurn() || dispatching) {
                throw new IllegalStateException("a handler cannot run the loop: this thread is inside a turn");
            }
            return turn(timeoutMillis);
        }
        owner.acquire(loop);
        try {
            return turn(timeoutMillis);
        } finally {
            clock.turnReturned();
            leave();
        }
    }

    /** See {@link EventLoop#schedule}. */
    ScheduledTask schedule(long delayNanos, Runnable task) {
        boolean here = owner.isCurrent();
        if (owner.isClosed() || (owner.isClosing() && !here)) {
            throw new RejectedExecutionException("event loop is closed");
        }
        ScheduledTask t = new ScheduledTask(timers, ScheduledTask.deadline(System.nanoTime(), delayNanos),
            timerSequence.getAndIncrement(), task);
        timers.add(t);
        if (!here) {
            // As execute: a timer that raced the close is taken back and refused, unless the
            // close already cancelled it (which it then says).
            if (owner.isClosing() && timers.takeBack(t)) {
                throw new RejectedExecutionException("event loop is closed");
            }
            tasks.wake();
        }
        return t;
    }

    /** The body of run(): turns, or held turns, until stop; then what was queued before the stop. */
    void runUntilStopped() {
        owner.serving(true);
        clock.started();
        try {
            while (!stopRequested) {
                held = !owner.isClosing() && hooks.holds(loop);
                if (held) {
                    heldTurn();
                } else {
                    turn(-1);
                }
            }
            held = false;
            clock.tasksRun(tasks.runAll(guarded, tasks.queued()));
        } finally {
            clock.stopped();
            owner.serving(false);
            stopRequested = owner.isClosing();
        }
    }

    int turn(int timeoutMillis) {
        owner.enterTurn();
        try {
            long before = startWait();
            int n;
            try {
                n = epoll.await(waitMillis(timeoutMillis, before), before);
            } catch (NativeException e) {
                throw new UncheckedIOException(e);
            }
            long after = endWait(before, n);
            if (ready.fill(epoll, n, tasks.fd())) {
                tasks.drainWakeup();
            }
            if (ready.size() > 0) {
                dispatchTurn();
            }
            clock.timersFired(timers.runDue(after, guarded));
            clock.tasksRun(tasks.runQueued(guarded));
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
        clock.tasksRun(tasks.runQueued(guarded));
    }

    private long startWait() {
        long now = clock.startWait();
        hooks.beforeWait(loop);
        return now;
    }

    private long endWait(long before, int pairs) {
        long now = clock.endWait(before);
        hooks.afterWait(loop, pairs);
        return now;
    }

    private void dispatchTurn() {
        dispatching = true;
        try {
            hooks.onTurn(loop, clock.turns(), ready);
            dispatcher.turn(ready);
        } finally {
            dispatching = false;
        }
    }

    /** How long this turn may block: not at all with work queued, never past the next timer. */
    private int waitMillis(int requested, long now) {
        if (!tasks.isEmpty()) {
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
        if (dispatching) {
            throw new IllegalStateException("inject() from a handler would overwrite the turn being dispatched");
        }
        ready.fill(pairs, table);
        dispatchTurn();
    }

    LoopStats stats() {
        return new LoopStats(clock.turns(), dispatcher.events(), dispatcher.stale(), tasks.wakeups(), clock.tasksRun(),
            clock.timersFired(), table.count(), timers.size(), clock.idleNanos(), clock.busyNanos());
    }

    /** See {@link EventLoop#turnNanos()}. */
    long turnNanos() {
        return clock.turnNanos();
    }

    /** See {@link EventLoop#stop()}. */
    void stop() {
        stopRequested = true;
        if (owner.isCurrent() || !owner.isRunning()) {
            return;
        }
        tasks.wake();
        if (LoopOwner.current() == null) {
            warnIfStuck(owner.awaitIdle(EXIT_WAIT_MILLIS), "");
        }
    }

    /** See {@link EventLoop#close()}; without {@code wait} it never waits for a running turn. */
    void close(boolean wait) {
        // Refuse other threads' work, and ask run() to return, before a close can be finished.
        tasks.shutDown();
        stopRequested = true;
        switch (owner.startClosing(loop)) {
            case CALLER_FINISHES:
                leave();
                return;
            case OWNER_FINISHES:
                tasks.wake();
                break;
            default:
                break;
        }
        // Never wait on a loop's thread: two loops closing each other would deadlock.
        if (wait && !owner.isCurrent() && LoopOwner.current() == null) {
            warnIfStuck(owner.awaitClosed(EXIT_WAIT_MILLIS), "; the loop finishes closing when that turn ends");
        }
    }

    private void warnIfStuck(boolean done, String consequence) {
        if (!done) {
            LOG.log(Level.WARNING, "evloop: loop thread " + owner.thread() + " is still in a turn after "
                + EXIT_WAIT_MILLIS + " ms: a handler is blocking it" + consequence);
        }
    }

    /**
     * Gives up ownership. If a close has started, the owner finishes it first: the decision and
     * the release happen under the owner's lock, so no close is ever left to nobody.
     */
    void leave() {
        while (!owner.releaseUnlessClosing()) {
            finishClose();
        }
    }

    /**
     * Runs what was accepted, tells the hooks (owners of registered fds close them), runs what
     * they queued, cancels the timers, releases the loop's own fds, then marks the loop closed.
     */
    private void finishClose() {
        try {
            clock.tasksRun(tasks.runAll(guarded, Integer.MAX_VALUE));
            hooks.onClose(loop);
            clock.tasksRun(tasks.runAll(guarded, Integer.MAX_VALUE));
            int cancelled = timers.cancelAll();
            if (cancelled > 0) {
                LOG.log(Level.DEBUG, "evloop: closing cancelled " + cancelled + " pending timers");
            }
            closeQuietly(epoll);
            closeQuietly(tasks);
        } finally {
            for (Runnable r : owner.markClosed()) {
                dispatcher.guarded(r);
            }
        }
    }

    /** Closes one of the loop's own fds (its epoll fd, its eventfd), logging rather than throwing. */
    static void closeQuietly(AutoCloseable fd) {
        try {
            if (fd != null) {
                fd.close();
            }
        } catch (Exception e) {
            LOG.log(Level.WARNING, "evloop: closing " + fd + " failed", e);
        }
    }
}
