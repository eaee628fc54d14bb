package evloop;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A loop's clock and counters. It reads the clock twice per turn, around the wait; those two
 * readings feed the timers and the utilisation figures (time spent waiting in epoll_wait
 * against time spent in callbacks, as libuv's {@code uv_metrics_idle_time} and Node's
 * event-loop utilisation count it), and turns, tasks and timers are counted alongside.
 *
 * <p>The loop thread is the only writer; {@link EventLoop#stats()} reads from anywhere. So the
 * writes are release stores, not volatile ones: a volatile store is a full fence on x86 and a
 * turn makes several, while a release store is a plain move there. Readers use acquire loads,
 * which see every write made before the one they read.
 */
final class TurnClock {
    private static final VarHandle TURNS;
    private static final VarHandle TASKS_RUN;
    private static final VarHandle TIMERS_FIRED;
    private static final VarHandle IDLE_NANOS;
    private static final VarHandle BUSY_NANOS;
    private static final VarHandle LAST_WAKE;
    private static final VarHandle BUSY_SINCE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            TURNS = l.findVarHandle(TurnClock.class, "turns", long.class);
            TASKS_RUN = l.findVarHandle(TurnClock.class, "tasksRun", long.class);
            TIMERS_FIRED = l.findVarHandle(TurnClock.class, "timersFired", long.class);
            IDLE_NANOS = l.findVarHandle(TurnClock.class, "idleNanos", long.class);
            BUSY_NANOS = l.findVarHandle(TurnClock.class, "busyNanos", long.class);
            LAST_WAKE = l.findVarHandle(TurnClock.class, "lastWake", long.class);
            BUSY_SINCE = l.findVarHandle(TurnClock.class, "busySince", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@link #busySince} while the loop waits or does not run. */
    private static final long NOT_BUSY = Long.MIN_VALUE;

    private long turns;
    private long tasksRun;
    private long timersFired;
    private long idleNanos;
    private long busyNanos;
    /** When the last wait returned: the start of the busy time that the next wait ends. */
    private long lastWake = System.nanoTime();
    /**
     * {@link #lastWake} while a turn is between its waits, {@link #NOT_BUSY} otherwise: lets
     * {@link #busyNanos()} count the busy time of a turn that has not ended (a handler stuck in
     * one callback) with no clock read of its own on the loop thread.
     */
    private long busySince = NOT_BUSY;

    // ---- the loop thread ---------------------------------------------------------------

    /** run() begins: the time the loop did not run is neither busy nor idle. */
    void started() {
        LAST_WAKE.setRelease(this, System.nanoTime());
    }

    /** run() ends: what ran since the last wait was busy. */
    void stopped() {
        long now = System.nanoTime();
        BUSY_SINCE.setRelease(this, NOT_BUSY);
        BUSY_NANOS.setRelease(this, busyNanos + (now - lastWake));
        LAST_WAKE.setRelease(this, now);
    }

    /** A wait begins; returns the clock reading, which the timers use too. */
    long startWait() {
        long now = System.nanoTime();
        // busySince first: a reader that still sees it set has not seen busyNanos grow.
        BUSY_SINCE.setRelease(this, NOT_BUSY);
        BUSY_NANOS.setRelease(this, busyNanos + (now - lastWake));
        return now;
    }

    /** The wait that began at {@code before} returned; returns the clock reading. */
    long endWait(long before) {
        long now = System.nanoTime();
        IDLE_NANOS.setRelease(this, idleNanos + (now - before));
        LAST_WAKE.setRelease(this, now);
        BUSY_SINCE.setRelease(this, now);
        TURNS.setRelease(this, turns + 1);
        return now;
    }

    /** A runOnce() from outside the loop returned: no turn is in progress until the next one. */
    void turnReturned() {
        BUSY_SINCE.setRelease(this, NOT_BUSY);
    }

    void tasksRun(int n) {
        if (n != 0) {
            TASKS_RUN.setRelease(this, tasksRun + n);
        }
    }

    void timersFired(int n) {
        if (n != 0) {
            TIMERS_FIRED.setRelease(this, timersFired + n);
        }
    }

    /** Turns so far; exact on the loop thread, where the per-turn hooks read it. */
    long turns() {
        return (long) TURNS.getAcquire(this);
    }

    // ---- any thread ----------------------------------------------------------------------

    long tasksRun() {
        return (long) TASKS_RUN.getAcquire(this);
    }

    long timersFired() {
        return (long) TIMERS_FIRED.getAcquire(this);
    }

    long idleNanos() {
        return (long) IDLE_NANOS.getAcquire(this);
    }

    /** See {@link EventLoop#now()}. */
    long lastWake() {
        return (long) LAST_WAKE.getAcquire(this);
    }

    /** See {@link EventLoop#turnNanos()}: one clock read. */
    long turnNanos() {
        long since = (long) BUSY_SINCE.getAcquire(this);
        return since == NOT_BUSY ? 0 : Math.max(0, System.nanoTime() - since);
    }

    /**
     * The busy time so far, the turn in progress included. startWait clears busySince before it
     * adds to busyNanos, so if busySince reads the same before and after busyNanos, and is set,
     * that busyNanos does not hold the turn since then yet; a changed busySince means a wait
     * began or ended meanwhile: read again.
     */
    long busyNanos() {
        long since;
        long busy;
        do {
            since = (long) BUSY_SINCE.getAcquire(this);
            busy = (long) BUSY_NANOS.getAcquire(this);
        } while (since != (long) BUSY_SINCE.getAcquire(this));
        return since == NOT_BUSY ? busy : busy + Math.max(0, System.nanoTime() - since);
    }
}
