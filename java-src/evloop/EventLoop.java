package evloop;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * An epoll event loop in the shape of the Chicken Scheme echo server: a read table and a write
 * table keyed by fd, and one callback per turn that receives the (fd, events) pairs
 * {@code epoll_wait} returned. Unlike that server it blocks until something happens (an event,
 * a due timer or a task), and pairs whose fd was removed or reused during the turn are dropped.
 *
 * <p><b>A turn</b> ({@link #runOnce}): hooks, {@code epoll_wait}, hooks, the per-turn callback
 * (by default {@link #dispatch}: to the tables), due timers, queued tasks. Every piece of user
 * code is guarded: what it throws goes to the {@link ErrorHandler} and the loop goes on.
 *
 * <p><b>Threads.</b> The thread inside {@link #run()} or {@link #runOnce(int)} owns the loop.
 * The table methods ({@code onReadable}, {@code onWritable}, {@code remove}, ...) and
 * {@link #dispatch} may be called by that thread, or by any thread while no thread runs the
 * loop, which that thread then owns for the call (a {@code run()} started meanwhile waits for
 * it); otherwise they throw {@link IllegalStateException}: other threads go through
 * {@link #execute}. Everything else is safe from any thread.
 *
 * <p><b>Ownership.</b> The loop owns its epoll fd and its wake-up eventfd, and closes them
 * once. The fds in its tables belong to whoever registered them: the loop never closes them,
 * except one its owner hands over with {@link #removeAndClose} (as {@code Fd.closeOn} does).
 *
 * <p><b>Lifecycle.</b> {@link #stop()} ends {@link #run()} after running what was queued before
 * it; the loop can be run again. {@link #close()} refuses new work from other threads, runs
 * every task already accepted, cancels pending timers (visible through
 * {@link ScheduledTask#isCancelled()}) and releases the loop's two fds. No accepted task is
 * dropped: it runs, or {@code execute} threw at its submitter.
 */
public final class EventLoop implements AutoCloseable {
    private final LoopCore core;
    private final LoopOwner owner;
    private final TableCalls tables;
    private final Calls calls;

    private EventLoop(int maxEvents) {
        this.core = LoopCore.open(this, maxEvents);
        this.owner = core.owner;
        this.tables = new TableCalls(this, core);
        this.calls = new Calls(this, core);
    }

    /** @return a loop with room for 1024 pairs per turn */
    public static EventLoop open() {
        return open(1024);
    }

    /**
     * @param maxEvents the most pairs one turn returns
     * @return a new loop; nothing runs until {@link #run()} or {@link #runOnce(int)}
     */
    public static EventLoop open(int maxEvents) {
        if (maxEvents < 1 || maxEvents > 1 << 20) {
            throw new IllegalArgumentException("maxEvents must be between 1 and 1048576, got " + maxEvents);
        }
        return new EventLoop(maxEvents);
    }

    /** @return the loop the calling thread is running, or null on a thread that runs none */
    public static EventLoop current() {
        return LoopOwner.current();
    }

    /**
     * Puts {@code handler} in the read table for {@code fd}; watches IN and RDHUP.
     *
     * @param fd an fd the caller owns
     * @param handler the entry, or null to take it out
     */
    public void onReadable(int fd, FdHandler handler) {
        tables.setReader(fd, handler);
    }

    /**
     * Puts {@code handler} in the write table for {@code fd}; watches OUT.
     *
     * @param fd an fd the caller owns
     * @param handler the entry, or null to take it out
     */
    public void onWritable(int fd, FdHandler handler) {
        tables.setWriter(fd, handler);
    }

    /** @param fd taken out of the read table (as {@code onReadable(fd, null)}) */
    public void offReadable(int fd) {
        onReadable(fd, null);
    }

    /** @param fd taken out of the write table (as {@code onWritable(fd, null)}) */
    public void offWritable(int fd) {
        onWritable(fd, null);
    }

    /**
     * @param fd a registered fd
     * @param trigger how it is reported from now on (level-triggered unless set), until it
     *     leaves both tables: the next registration under its number starts level-triggered
     */
    public void setTrigger(int fd, Trigger trigger) {
        tables.setTrigger(fd, trigger);
    }

    /** @param fd a one-shot fd whose event fired, enabled again */
    public void rearm(int fd) {
        tables.rearm(fd);
    }

    /**
     * Removes {@code fd} from both tables and from epoll. Call it before closing the fd: pairs
     * for it still pending in this turn are then dropped, even if the number is reused.
     *
     * @param fd the fd; a no-op for one in neither table
     */
    public void remove(int fd) {
        tables.remove(fd);
    }

    /**
     * Takes {@code fd} out of the tables and then closes it, from any thread: how the owner of
     * a registered fd lets go of it ({@code Fd.closeOn} calls this). The number is never freed
     * while the tables could take a new fd given it for this one. On the loop's thread, or
     * while nobody runs the loop, both happen now. While another thread runs it, what the fd
     * refers to is released now (a socket closes, a port is free: the number is parked on a
     * placeholder) and the loop takes the number out and closes it at the end of its turn, or
     * after its close if it is closing; a loop that stops first does it when it runs again or
     * closes. Once the loop is closed the fd is closed at once.
     *
     * @param fd an fd the caller owns and hands over: it must not use or close the number again
     */
    public void removeAndClose(int fd) {
        if (fd >= 0) {
            tables.removeAndClose(fd);
        }
    }

    /** @return the registered fds as data; from another thread while the loop runs, this asks the loop */
    public List<FdInfo> fds() {
        return call(core.table::snapshot);
    }

    /** @param handler the per-turn callback; {@code null} restores the default, {@link #dispatch(Ready)} */
    public void setTurnHandler(TurnHandler handler) {
        core.dispatcher.setTurnHandler(handler);
    }

    /** @param handler where errors are reported; {@code null} restores the default (a logged warning) */
    public void setErrorHandler(ErrorHandler handler) {
        core.dispatcher.setErrorHandler(handler);
    }

    /** @param hook called around every wait and turn from now on, on the loop thread */
    public void addHook(LoopHook hook) {
        core.hooks.add(Objects.requireNonNull(hook, "hook"));
    }

    /** @param hook no longer called */
    public void removeHook(LoopHook hook) {
        core.hooks.remove(hook);
    }

    /** @param gate consulted before every turn of {@link #run()}; null: never held */
    public void setPauseGate(PauseGate gate) {
        core.hooks.setGate(gate);
        wakeup();
    }

    /** @return true while {@link #run()} is holding the loop because its {@link PauseGate} said so */
    public boolean isHeld() {
        return core.held;
    }

    /**
     * The default per-turn callback: hands each current pair to its fd's read handler (for IN,
     * PRI, RDHUP, HUP or ERR) and then its write handler (for OUT, or HUP/ERR when the fd has no
     * reader). Pairs for fds removed earlier in this turn are skipped.
     *
     * @param r the turn's pairs, as the turn handler received them
     */
    public void dispatch(Ready r) {
        tables.dispatch(r);
    }

    /**
     * Hands synthetic pairs to the per-turn callback as if epoll had returned them, each tagged
     * with its fd's current registration: a handler can be tried without a real client. Loop
     * thread (from a task, not from a handler of the turn being dispatched), or while nobody runs it.
     *
     * @param pairs at most as many as one turn holds
     */
    public void inject(List<FdEvent> pairs) {
        tables.inject(pairs);
    }

    /** Runs turns until {@link #stop()} or {@link #close()}; the calling thread owns the loop meanwhile. */
    public void run() {
        core.run();
    }

    /**
     * Runs one turn: waits up to {@code timeoutMillis} (-1: until something happens, 0: poll),
     * calls the turn handler if pairs arrived, then runs due timers and queued tasks. From the
     * loop's own thread it may be called outside a turn (a task of a held loop stepping it).
     *
     * @param timeoutMillis the longest wait
     * @return the number of pairs
     */
    public int runOnce(int timeoutMillis) {
        return core.runOnce(timeoutMillis);
    }

    /** @return true while some thread is inside {@link #run()} or {@link #runOnce(int)} */
    public boolean isRunning() {
        return owner.isRunning();
    }

    /** @return true on the thread that is running the loop now */
    public boolean inLoop() {
        return owner.isCurrent();
    }

    /** @return the thread running the loop now, or null */
    public Thread thread() {
        return owner.thread();
    }

    /**
     * Runs {@code task} on the loop thread at the end of a turn; tasks from one thread run in
     * order. An accepted task always runs, even if the loop closes first.
     *
     * @param task what to run
     * @throws RejectedExecutionException once the loop is closing (from another thread) or closed
     */
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (owner.isClosed()) {
            throw new RejectedExecutionException("event loop is closed");
        }
        core.tasks.add(task, owner.isCurrent());
    }

    /**
     * @param task what to run on the loop thread
     * @param <T> its result type
     * @return a future of its result, or of what it threw
     * @throws RejectedExecutionException once the loop is closing or closed
     */
    public <T> CompletableFuture<T> submit(Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        execute(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    /** Wakes the loop from its wait; safe from any thread, coalesced with other wake-ups. */
    public void wakeup() {
        if (!owner.isClosed()) {
            core.tasks.wake();
        }
    }

    /**
     * @param delay how long from now
     * @param unit the unit of {@code delay}
     * @param task what to run on the loop thread then
     * @return the timer, which cancels it from any thread
     */
    public ScheduledTask schedule(long delay, TimeUnit unit, Runnable task) {
        return core.schedule(unit.toNanos(delay), Objects.requireNonNull(task, "task"));
    }

    /**
     * @return when the current turn's wait returned, on the {@code System.nanoTime()} clock: a
     *     timestamp that costs no clock read (libuv's {@code uv_now}), for stamping activity
     */
    public long now() {
        return core.clock.lastWake();
    }

    /**
     * How long the turn in progress has been running its callbacks, timers and tasks: a loop
     * that does not answer {@link #call} and reads high here is stuck in a handler. Costs one
     * clock read; readable from any thread.
     *
     * @return nanoseconds since the current turn's wait returned, or 0 while the loop waits or
     *     nobody runs it
     */
    public long turnNanos() {
        return core.turnNanos();
    }

    /** @return the loop's counters, readable from any thread */
    public LoopStats stats() {
        return core.stats();
    }

    /**
     * Makes the current (or next) {@link #run()} return after its turn and the tasks queued
     * before this call. From another thread it waits (up to 10 s) until the loop has exited;
     * from any loop's thread it never waits, so two loops stopping each other cannot deadlock.
     */
    public void stop() {
        core.stop();
    }

    /**
     * Closes the loop, idempotently: other threads' {@code execute} is refused from now on,
     * every task accepted before runs, pending timers are cancelled, and the epoll fd and
     * eventfd are released. From a handler, or from another loop's thread, it does not wait:
     * the loop finishes closing when its turn ends. From any other thread it waits up to 10 s
     * for a running turn to end; a loop whose handler blocks longer finishes closing (and
     * releases its fds) when that handler returns.
     */
    @Override
    public void close() {
        core.close(true);
    }

    /** Starts closing without waiting for a running turn: the group closes its loops together. */
    void closeWithoutWaiting() {
        core.close(false);
    }

    /** @return true once the loop has released its fds */
    public boolean isClosed() {
        return owner.isClosed();
    }

    /**
     * Runs {@code query} on the loop thread and returns its answer, waiting up to 5 s.
     *
     * @param query reads loop-owned state (tables, connections) for a REPL or another thread
     * @param <T> the answer's type
     * @return the answer
     * @see #call(Supplier, Duration)
     */
    public <T> T call(Supplier<T> query) {
        return call(query, Duration.ofSeconds(5));
    }

    /**
     * Runs {@code query} on the loop thread and returns its answer; runs it directly on the
     * loop thread, or, while no thread runs the loop, as its owner on the calling thread. From
     * another loop's thread it never waits: unless this loop is idle it throws at once (use
     * {@link #submit}), since two loops waiting for each other would both stand still.
     *
     * @param query what to run
     * @param timeout how long to wait for the loop to answer
     * @param <T> the answer's type
     * @return the answer
     * @throws RuntimeException what the query threw, as it threw it
     * @throws IllegalStateException if the loop did not answer in time, the wait was
     *     interrupted (the interrupt flag stays set), or the caller runs another loop
     * @throws RejectedExecutionException if the loop is closing
     */
    public <T> T call(Supplier<T> query, Duration timeout) {
        owner.checkOpen();
        return calls.call(query, timeout);
    }
}
