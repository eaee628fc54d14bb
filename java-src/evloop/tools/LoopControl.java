package evloop.tools;

import evloop.EventLoop;
import evloop.FdEvent;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Consumer;

/**
 * A loop's controls for a REPL, beyond what event loops usually offer: pause it and step it one
 * turn at a time while its connections stay open, inject synthetic pairs, record recent turns,
 * and watch for a handler that blocks the loop thread or a loop that spins. Built only on the
 * loop's public hooks ({@link evloop.LoopHook}, {@link evloop.PauseGate}): the engine does not
 * know these tools exist. {@link #of(EventLoop)} attaches them to a loop on first use; every
 * method is safe from any thread.
 */
public final class LoopControl {
    private static final Map<EventLoop, LoopControl> CONTROLS = new WeakHashMap<>();

    private final EventLoop loop;
    private final PauseControl pause;
    private final Watch watch;
    private TurnLog turnLog;
    private boolean watching;

    private LoopControl(EventLoop loop) {
        this.loop = loop;
        this.pause = new PauseControl(loop);
        this.watch = new Watch(loop);
        loop.addHook(pause);
    }

    /**
     * @param loop a loop
     * @return its controls, attached on the first call
     */
    public static LoopControl of(EventLoop loop) {
        synchronized (CONTROLS) {
            // A control refers to its loop, so the weak key alone would never let go of it:
            // controls of closed loops are dropped here instead.
            CONTROLS.keySet().removeIf(EventLoop::isClosed);
            return CONTROLS.computeIfAbsent(loop, LoopControl::new);
        }
    }

    /**
     * Stops dispatching after the current turn: the loop thread stops polling its fds
     * (connections stay open; the kernel buffers) but still runs tasks, so the loop can be
     * inspected and {@link #step stepped}. Timers wait too. Returns once the turn in progress
     * has ended, so whatever arrives from then on waits; from another loop's thread, which
     * never waits for a loop, it returns at once.
     */
    public void pause() {
        pause.pause();
    }

    /** Dispatching resumes; what the kernel buffered meanwhile is handled in the next turns. */
    public void resume() {
        pause.resume();
    }

    /** @return true while paused */
    public boolean isPaused() {
        return pause.isPaused();
    }

    /**
     * Runs exactly one turn, waiting up to {@code timeoutMillis} for events. A running loop must
     * be paused first; a loop nobody runs turns on the caller.
     *
     * @param timeoutMillis the longest wait for events
     * @return the turn's pairs
     */
    public List<FdEvent> step(int timeoutMillis) {
        return pause.step(timeoutMillis);
    }

    /**
     * Hands synthetic pairs to the per-turn callback as if epoll had returned them, tagged with
     * their fds' current registrations, to try a handler without a real client.
     *
     * @param pairs the pairs
     */
    public void inject(List<FdEvent> pairs) {
        loop.call(() -> {
            loop.inject(pairs);
            return null;
        });
    }

    /**
     * Records the pairs of the last {@code capacity} turns, telling {@code listener} of each.
     * Costs a copy of every turn's pairs while on.
     *
     * @param capacity how many turns to keep; 0 turns recording off
     * @param listener told of each turn on the loop thread; may be null
     */
    public synchronized void recordTurns(int capacity, Consumer<TurnRecord> listener) {
        if (turnLog != null) {
            loop.removeHook(turnLog);
            turnLog = null;
        }
        if (capacity > 0) {
            turnLog = new TurnLog(capacity, listener);
            loop.addHook(turnLog);
        }
    }

    /** @return the recorded turns, oldest first; empty unless {@link #recordTurns} is on */
    public synchronized List<TurnRecord> recentTurns() {
        return turnLog == null ? List.of() : turnLog.turns();
    }

    /**
     * Reports a turn that runs longer than {@code stallMillis} (once per turn, with the loop
     * thread's stack: a handler is blocking the loop) and more than {@code emptyTurnsPerSecond}
     * turns a second that had no events, timers or tasks (the loop is spinning). Reports go to
     * the log and to {@code listener}. Zero for both turns it off.
     *
     * @param stallMillis the stall threshold; 0 for none
     * @param emptyTurnsPerSecond the spin threshold; 0 for none
     * @param listener told of each report on the watchdog thread; may be null
     */
    public synchronized void watch(long stallMillis, int emptyTurnsPerSecond, Consumer<String> listener) {
        boolean on = watch.configure(stallMillis, emptyTurnsPerSecond, listener);
        if (on && !watching) {
            loop.addHook(watch);
        } else if (!on && watching) {
            loop.removeHook(watch);
        }
        watching = on;
    }

    /** @return turns the watchdog reported as stalled */
    public long stalls() {
        return watch.stalls();
    }

    /**
     * @return how many times the watchdog has looked at this loop since it was created: one who
     *     wants to know that a quiet watchdog is watching, and not just not yet awake, waits for
     *     this to grow
     */
    public long watchChecks() {
        return watch.checks();
    }

    /** @return spinning episodes the watchdog reported */
    public long spins() {
        return watch.spins();
    }
}
