package evloop;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A loop's controls for a REPL, beyond what event loops usually offer: pause it and step it
 * one turn at a time while its connections stay open, inject synthetic pairs, record recent
 * turns, and watch for a handler that blocks the loop thread or a loop that spins. Obtained
 * with {@link EventLoop#control()}; every method is safe from any thread.
 */
public final class LoopControl {
    private final EventLoop loop;
    private final PauseControl pause = new PauseControl();
    final Watch watch;
    private volatile TurnLog turnLog;

    LoopControl(EventLoop loop) {
        this.loop = loop;
        this.watch = new Watch(loop);
    }

    /**
     * Stops dispatching after the current turn: the loop thread stops polling its fds
     * (connections stay open; the kernel buffers) but still runs tasks, so the loop can be
     * inspected and {@link #step stepped}. Timers wait too. Returns once the turn in progress
     * has ended, so whatever arrives from then on waits.
     */
    public void pause() {
        pause.setPaused(true);
        if (loop.isRunning() && !loop.inLoop()) {
            loop.call(() -> null);
        }
    }

    /** Dispatching resumes; what the kernel buffered meanwhile is handled in the next turns. */
    public void resume() {
        pause.setPaused(false);
        pause.failSteps("the loop was resumed before the step ran");
        loop.wake();
    }

    public boolean isPaused() {
        return pause.isPaused();
    }

    /**
     * Runs exactly one turn, waiting up to {@code timeoutMillis} for events, and returns its
     * pairs. A running loop must be paused first; a loop nobody runs turns on the caller.
     */
    public List<FdEvent> step(int timeoutMillis) {
        if (!loop.isRunning()) {
            return loop.asOwner(() -> loop.steppedTurn(timeoutMillis));
        }
        if (loop.inLoop() || !pause.isPaused()) {
            throw new IllegalStateException(loop.inLoop()
                ? "step() from a handler would nest turns" : "pause() the loop before stepping it");
        }
        CompletableFuture<List<FdEvent>> f = pause.requestStep(timeoutMillis);
        loop.wake();
        try {
            return f.get(Math.max(0, timeoutMillis) + 5000L, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // A step that never ran must not run later, unasked, on the next pause.
            f.cancel(false);
            throw new IllegalStateException("the loop did not step", e);
        }
    }

    /**
     * Hands synthetic pairs to the per-turn callback as if epoll had returned them, tagged with
     * their fds' current registrations, to try a handler without a real client.
     */
    public void inject(List<FdEvent> pairs) {
        if (loop.inLoop()) {
            throw new IllegalStateException("inject() from a handler would overwrite the turn being dispatched");
        }
        loop.call(() -> {
            loop.injectTurn(pairs);
            return null;
        });
    }

    /**
     * Records the pairs of the last {@code capacity} turns (0 turns recording off), telling
     * {@code listener} (may be null) of each. Costs a copy of every turn's pairs while on.
     */
    public void recordTurns(int capacity, Consumer<TurnRecord> listener) {
        this.turnLog = capacity <= 0 ? null : new TurnLog(capacity, listener);
    }

    /** The recorded turns, oldest first; empty unless {@link #recordTurns} is on. */
    public List<TurnRecord> recentTurns() {
        TurnLog log = turnLog;
        return log == null ? List.of() : log.turns();
    }

    /**
     * Reports a turn that runs longer than {@code stallMillis} (once per turn, with the loop
     * thread's stack: a handler is blocking the loop) and more than {@code emptyTurnsPerSecond}
     * turns a second that had no events, timers or tasks (the loop is spinning). Reports go to
     * the log and to {@code listener} (may be null); {@link EventLoop#stats()} counts them.
     * Zero for both turns it off.
     */
    public void watch(long stallMillis, int emptyTurnsPerSecond, Consumer<String> listener) {
        watch.configure(stallMillis, emptyTurnsPerSecond, listener);
    }

    // ---- hooks for the loop thread ---------------------------------------------------------

    void recordTurn(long number, Ready ready) {
        TurnLog log = turnLog;
        if (log != null) {
            log.record(number, ready);
        }
    }

    void pausedTurn(TaskQueue tasks) {
        pause.pausedTurn(loop, tasks);
    }

    void close() {
        pause.close();
        watch.close();
    }
}
