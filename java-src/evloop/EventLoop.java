package evloop;

import evloop.sys.Epoll;
import evloop.sys.EventFd;
import evloop.sys.Native;
import evloop.sys.NativeException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * An epoll event loop in the shape of the Chicken Scheme echo server: a read table and a write
 * table keyed by fd, and one callback per turn that receives the (fd, events) pairs
 * {@code epoll_wait} returned. Unlike that server it blocks until something happens (an event,
 * a due timer or a task), and pairs whose fd was removed or reused during the turn are dropped.
 *
 * <p><b>Threads.</b> The thread inside {@link #run()} or {@link #runOnce(int)} owns the loop.
 * The table methods ({@code onReadable}, {@code onWritable}, {@code remove}, ...) and
 * {@link #dispatch} may be called by that thread, or by any thread while no thread runs the
 * loop; otherwise they throw {@link IllegalStateException}: other threads go through
 * {@link #execute(Runnable)}. {@code execute}, {@code schedule}, {@code stop}, {@code close},
 * {@code stats}, {@code fds} and the handler setters are safe from any thread.
 */
public final class EventLoop implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());

    private final Epoll epoll;
    private final TaskQueue tasks;
    private final FdTable table;
    private final Dispatcher dispatcher;
    private final Ready ready;
    private final TimerQueue timers = new TimerQueue();
    private final LoopControl control = new LoopControl(this);
    private final LoopOwner owner = new LoopOwner();
    private final AtomicLong timerSequence = new AtomicLong();

    private volatile boolean stopRequested;
    private volatile boolean closed;
    private volatile boolean releaseOnExit;

    // Written by the loop thread only and read from anywhere: volatile is enough.
    private volatile long turns;
    private volatile long tasksRun;
    private volatile long timersFired;

    private EventLoop(Epoll epoll, EventFd wakeFd, int maxEvents) throws NativeException {
        this.epoll = epoll;
        this.tasks = new TaskQueue(wakeFd);
        this.table = new FdTable(epoll);
        this.dispatcher = new Dispatcher(this, table);
        this.ready = new Ready(maxEvents);
        // Generation 0 tags the wake-up fd; FdTable never hands it out.
        epoll.add(wakeFd.fd(), Epoll.EPOLLIN, wakeFd.fd() & 0xffffffffL);
    }

    /** Opens a loop with room for 1024 pairs per turn. */
    public static EventLoop open() {
        return open(1024);
    }

    /** Opens a loop whose turns return at most {@code maxEvents} pairs. */
    public static EventLoop open(int maxEvents) {
        Epoll ep = null;
        EventFd efd = null;
        try {
            ep = Epoll.open(maxEvents);
            efd = EventFd.open();
            return new EventLoop(ep, efd, maxEvents);
        } catch (NativeException e) {
            Native.get().closeQuietly(ep == null ? -1 : ep.fd());
            Native.get().closeQuietly(efd == null ? -1 : efd.fd());
            throw new UncheckedIOException(e);
        }
    }

    /** Puts {@code handler} in the read table for {@code fd} (null: takes it out); watches IN and RDHUP. */
    public void onReadable(int fd, FdHandler handler) {
        checkOwner();
        table.setReader(fd, handler);
    }

    /** Puts {@code handler} in the write table for {@code fd} (null: takes it out); watches OUT. */
    public void onWritable(int fd, FdHandler handler) {
        checkOwner();
        table.setWriter(fd, handler);
    }

    /** Takes {@code fd} out of the read table; the write table keeps its entry. */
    public void offReadable(int fd) {
        onReadable(fd, null);
    }

    /** Takes {@code fd} out of the write table; the read table keeps its entry. */
    public void offWritable(int fd) {
        onWritable(fd, null);
    }

    /** Sets how {@code fd} is reported (level-triggered unless set). */
    public void setTrigger(int fd, Trigger trigger) {
        checkOwner();
        table.setTrigger(fd, trigger);
    }

    /** Re-enables a one-shot fd after its event fired. */
    public void rearm(int fd) {
        checkOwner();
        table.rearm(fd);
    }

    /**
     * Removes {@code fd} from both tables and from epoll. Call it before closing the fd: pairs
     * for it still pending in this turn are then dropped, even if the number is reused.
     */
    public void remove(int fd) {
        checkOwner();
        table.remove(fd);
    }

    /** The registered fds as data. From another thread while the loop runs, this asks the loop. */
    public List<FdInfo> fds() {
        return call(table::snapshot);
    }

    /** Replaces the per-turn callback; {@code null} restores the default, {@link #dispatch(Ready)}. */
    public void setTurnHandler(TurnHandler handler) {
        dispatcher.setTurnHandler(handler);
    }

    /** Replaces the error handler; {@code null} restores the default (log, remove and close the fd). */
    public void setErrorHandler(ErrorHandler handler) {
        dispatcher.setErrorHandler(handler);
    }

    /**
     * The default per-turn callback: hands each current pair to its fd's read handler (for IN,
     * PRI, RDHUP, HUP or ERR) and then its write handler (for OUT, or HUP/ERR when the fd has no
     * reader). Pairs for fds removed earlier in this turn are skipped.
     */
    public void dispatch(Ready r) {
        checkOwner();
        dispatcher.dispatch(r);
    }

    /** Runs turns until {@link #stop()} or {@link #close()}; the calling thread owns the loop meanwhile. */
    public void run() {
        acquire();
        try {
            while (!stopRequested && !closed) {
                if (control.isPaused()) {
                    control.pausedTurn(tasks);
                } else {
                    turn(-1);
                }
            }
        } finally {
            release();
        }
    }

    /**
     * Runs one turn: waits up to {@code timeoutMillis} (-1: until something happens, 0: poll),
     * calls the turn handler if pairs arrived, then runs due timers and queued tasks.
     * Returns the number of pairs. Handy for stepping the loop from a REPL or a test.
     */
    public int runOnce(int timeoutMillis) {
        return asOwner(() -> turn(timeoutMillis));
    }

    private int turn(int timeoutMillis) {
        int n;
        try {
            n = epoll.await(waitMillis(timeoutMillis));
        } catch (NativeException e) {
            throw new UncheckedIOException(e);
        }
        turns++;
        control.watch.turnStarted();
        if (ready.fill(epoll, n, tasks.fd())) {
            tasks.drainWakeup();
        }
        if (ready.size() > 0) {
            handleTurn();
        }
        int fired = timers.runDue(System.nanoTime(), t -> dispatcher.guarded(t.task));
        timersFired += fired;
        int ran = runQueuedTasks();
        control.watch.turnEnded(n == 0 && fired == 0 && ran == 0);
        return ready.size();
    }

    int runQueuedTasks() {
        int ran = tasks.runQueued(dispatcher::guarded);
        tasksRun += ran;
        return ran;
    }

    /** One real turn for {@link #step}, returning its pairs. */
    List<FdEvent> steppedTurn(int timeoutMillis) {
        turn(timeoutMillis);
        return ready.copy();
    }

    /** Synthetic pairs through the per-turn callback, for {@link LoopControl#inject}; loop thread. */
    void injectTurn(List<FdEvent> pairs) {
        ready.fill(pairs, table);
        handleTurn();
    }

    /** The loop's REPL-level controls: pause and step, inject, turn recording, the watchdog. */
    public LoopControl control() {
        return control;
    }

    void wake() {
        tasks.wake();
    }

    /** Runs {@code body} as the loop's owner on the calling thread, for stepping a loop nobody runs. */
    <T> T asOwner(Supplier<T> body) {
        acquire();
        try {
            return body.get();
        } finally {
            release();
        }
    }

    private void handleTurn() {
        control.recordTurn(turns, ready);
        dispatcher.turn(ready);
    }

    /** How long this turn may block: not at all with work queued, never past the next timer. */
    private int waitMillis(int requested) {
        if (!tasks.isEmpty() || stopRequested || closed) {
            return 0;
        }
        int timer = timers.millisUntilNext(System.nanoTime());
        if (timer < 0) {
            return requested;
        }
        return requested < 0 ? timer : Math.min(requested, timer);
    }

    /** True while some thread is inside {@link #run()} or {@link #runOnce(int)}. */
    public boolean isRunning() {
        return owner.isRunning();
    }

    /** True on the thread that is running the loop now. */
    public boolean inLoop() {
        return owner.isCurrent();
    }

    /** Runs {@code task} on the loop thread at the end of a turn; tasks from one thread run in order. */
    public void execute(Runnable task) {
        if (closed) {
            throw new RejectedExecutionException("event loop is closed");
        }
        tasks.add(task, !owner.isCurrent());
    }

    /** Runs {@code task} on the loop thread after {@code delay}; the result cancels it from any thread. */
    public ScheduledTask schedule(long delay, TimeUnit unit, Runnable task) {
        ScheduledTask t = new ScheduledTask(System.nanoTime() + Math.max(0, unit.toNanos(delay)),
            timerSequence.getAndIncrement(), task);
        if (owner.isCurrent()) {
            timers.add(t);
        } else {
            if (closed) {
                throw new RejectedExecutionException("event loop is closed");
            }
            timers.offer(t);
            tasks.wake();
        }
        return t;
    }

    Thread ownerThread() {
        return owner.thread();
    }

    /** Counters, readable from any thread. */
    public LoopStats stats() {
        return new LoopStats(turns, dispatcher.events(), dispatcher.stale(), tasks.wakeups(), tasksRun, timersFired,
            table.count(), control.watch.stalls(), control.watch.spins());
    }

    /**
     * Makes the current (or next) {@link #run()} return after its turn. Called from another
     * thread it waits until the loop has exited; from the loop thread it returns at once.
     */
    public void stop() {
        stopRequested = true;
        if (owner.isCurrent()) {
            return;
        }
        if (!closed && owner.isRunning()) {
            tasks.wake();
        }
        owner.awaitIdle();
    }

    /**
     * Stops the loop and releases its epoll fd and eventfd; idempotent. fds in the tables belong
     * to their owners and stay open. Called from a handler, the release happens when the turn ends.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (owner.isCurrent()) {
            releaseOnExit = true;
            stopRequested = true;
            return;
        }
        stop();
        releaseResources();
    }

    public boolean isClosed() {
        return closed;
    }

    private synchronized void releaseResources() {
        if (closed) {
            return;
        }
        closed = true;
        control.close();
        try {
            epoll.close();
            tasks.close();
        } catch (NativeException e) {
            LOG.log(Level.WARNING, "releasing the loop's fds failed", e);
        }
    }

    private void acquire() {
        checkOpen();
        owner.acquire();
    }

    private void release() {
        boolean release = releaseOnExit;
        releaseOnExit = false;
        stopRequested = false;
        owner.release();
        if (release) {
            releaseResources();
        }
    }

    private void checkOwner() {
        checkOpen();
        owner.check();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("event loop is closed");
        }
    }

    /**
     * Runs {@code q} on the loop thread and returns its answer, waiting up to 5 s; runs it
     * directly when called on the loop thread or while no thread runs the loop. For reading
     * loop-owned state (tables, connections) from a REPL or another thread.
     */
    public <T> T call(Supplier<T> q) {
        checkOpen();
        if (!owner.isRunning() || owner.isCurrent()) {
            return q.get();
        }
        CompletableFuture<T> f = new CompletableFuture<>();
        execute(() -> {
            try {
                f.complete(q.get());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        try {
            return f.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("event loop did not answer within 5 s", e);
        }
    }
}
