package evloop.tcp;

import evloop.EventLoop;
import evloop.ScheduledTask;
import java.util.concurrent.TimeUnit;

/**
 * A connection's idle, read and write timeouts, as Netty's IdleStateHandler keeps them: the
 * connection stamps its activity with the loop's per-turn clock (a field write, no clock read,
 * no timer touched per message), and one timer per connection fires at the earliest deadline.
 * When it fires it compares the stamps with the deadlines: what expired is reported to the
 * connection; the timer is then re-armed for whatever is left. Ten thousand quiet connections
 * with timeouts therefore cost ten thousand timers that fire once per period, and nothing in
 * between. Loop thread only; created only for connections that have a timeout.
 *
 * <p>While this side pauses reading (the application's pauseReading, or output above the high
 * watermark) the idle and read clocks stand still: the peer's bytes wait in the socket because
 * of us, not of it. They start over when reading resumes. A peer that stops reading our output
 * is the write timeout's to catch, and that one keeps running.
 */
final class Timeouts implements Runnable {
    private final Connection conn;
    private final EventLoop loop;
    private long idleNanos;
    private long readNanos;
    private long writeNanos;
    /** Bytes moved either way. */
    private long lastIo;
    /** A frame completed (or the connection opened). */
    private long lastFrame;
    /** Queued output was written, or output started being queued. */
    private long lastWrite;
    private ScheduledTask timer;
    /** When the timer fires; Long.MAX_VALUE without one. */
    private long timerDeadline = Long.MAX_VALUE;
    /** This side paused reading: the idle and read clocks stand still. */
    private boolean readingPaused;

    Timeouts(Connection conn, EventLoop loop, long idleNanos, long readNanos, long writeNanos) {
        this.conn = conn;
        this.loop = loop;
        long now = loop.now();
        lastIo = now;
        lastFrame = now;
        lastWrite = now;
        set(idleNanos, readNanos, writeNanos);
    }

    /**
     * Sets {@code c}'s timeouts, on its loop thread: a negative one stays as it is. They are
     * created on first use, knowing whether reading is paused at that moment.
     */
    static void change(Connection c, long idle, long read, long write) {
        if (c.state == Connection.CLOSED) {
            return;
        }
        Timeouts t = c.timeouts;
        long i = idle >= 0 ? idle : t == null ? 0 : t.idleNanos;
        long r = read >= 0 ? read : t == null ? 0 : t.readNanos;
        long w = write >= 0 ? write : t == null ? 0 : t.writeNanos;
        if (t == null) {
            c.timeouts = new Timeouts(c, c.shard.loop, i, r, w);
            c.pausedTimeouts();
        } else {
            t.set(i, r, w);
        }
    }

    /** New limits (zero: off), counted from now; the timer is re-armed for the nearest. */
    void set(long idle, long read, long write) {
        this.idleNanos = idle;
        this.readNanos = read;
        this.writeNanos = write;
        long now = loop.now();
        lastIo = now;
        lastFrame = now;
        lastWrite = now;
        disarm();
        arm(now);
    }

    long idleNanos() {
        return idleNanos;
    }

    long readNanos() {
        return readNanos;
    }

    long writeNanos() {
        return writeNanos;
    }

    boolean any() {
        return idleNanos > 0 || readNanos > 0 || writeNanos > 0;
    }

    void bytesIn() {
        lastIo = loop.now();
    }

    void frameIn() {
        lastFrame = loop.now();
    }

    void bytesOut() {
        long now = loop.now();
        lastIo = now;
        lastWrite = now;
    }

    /**
     * Output stayed queued after a flush that had none before: the write timeout counts from
     * here, and the timer is brought forward if it would fire later than that. Called on that
     * transition only, never per message.
     */
    void outputQueued() {
        long now = loop.now();
        lastWrite = now;
        if (writeNanos > 0 && now + writeNanos - timerDeadline < 0) {
            disarm();
            arm(now);
        }
    }

    /**
     * Reading was paused or resumed on this side. Pausing only sets the flag (a timer that
     * fires meanwhile re-arms for the write timeout alone, or not at all); resuming starts the
     * idle and read clocks over, and re-arms only if the timer would fire too late for them.
     * Called on those transitions, never per message.
     */
    void readingPaused(boolean paused) {
        if (paused == readingPaused) {
            return;
        }
        readingPaused = paused;
        if (!paused) {
            long now = loop.now();
            lastIo = now;
            lastFrame = now;
            long nearest = Math.min(idleNanos > 0 ? idleNanos : Long.MAX_VALUE, readCounts() ? readNanos : Long.MAX_VALUE);
            if (nearest != Long.MAX_VALUE && now + nearest - timerDeadline < 0) {
                disarm();
                arm(now);
            }
        }
    }

    void cancel() {
        disarm();
        idleNanos = readNanos = writeNanos = 0;
    }

    private void disarm() {
        if (timer != null) {
            timer.cancel();
            timer = null;
        }
        timerDeadline = Long.MAX_VALUE;
    }

    /** The timer fired: report what expired (the write timeout only while output waits), re-arm. */
    @Override
    public void run() {
        timer = null;
        timerDeadline = Long.MAX_VALUE;
        if (!conn.isOpen()) {
            return;   // closing: the close timeout is in charge now
        }
        long now = System.nanoTime();
        if (writeNanos > 0 && (conn.out != null && !conn.out.isEmpty()) && now - lastWrite >= writeNanos) {
            lastWrite = now;
            if (!expired(DisconnectCause.WRITE_TIMEOUT)) {
                return;
            }
        }
        if (readCounts() && now - lastFrame >= readNanos) {
            lastFrame = now;
            if (!expired(DisconnectCause.READ_TIMEOUT)) {
                return;
            }
        }
        if (idleCounts() && now - lastIo >= idleNanos) {
            lastIo = now;
            if (!expired(DisconnectCause.IDLE_TIMEOUT)) {
                return;
            }
        }
        // A handler that kept the connection may have re-armed meanwhile (setTimeouts, output
        // that had to wait): one timer per connection, never two.
        disarm();
        arm(now);
    }

    /**
     * Tells the handler; unless it keeps the connection, closes it at once with this cause:
     * after writing what the socket takes for idle and read, with a reset for write (its output
     * is stuck). Returns whether the connection stays.
     */
    private boolean expired(DisconnectCause which) {
        try {
            if (conn.handler().onTimeout(conn, which)) {
                return true;
            }
        } catch (Throwable t) {
            conn.handlerFailed("onTimeout", t);
            return false;
        }
        if (which == DisconnectCause.WRITE_TIMEOUT) {
            Closing.abort(conn, which);
        } else {
            Closing.onTimeout(conn, which);
        }
        return false;
    }

    /**
     * After the peer's EOF nothing more can arrive: a handler still answering is not a slow
     * sender, so the read timeout neither fires nor sets when the timer does.
     */
    private boolean readCounts() {
        return readNanos > 0 && !readingPaused && !conn.isPeerClosed();
    }

    private boolean idleCounts() {
        return idleNanos > 0 && !readingPaused;
    }

    private void arm(long now) {
        long next = Long.MAX_VALUE;
        if (idleCounts()) {
            next = Math.min(next, lastIo + idleNanos - now);
        }
        if (readCounts()) {
            next = Math.min(next, lastFrame + readNanos - now);
        }
        if (writeNanos > 0 && (conn.out != null && !conn.out.isEmpty())) {
            next = Math.min(next, lastWrite + writeNanos - now);
        }
        if (next != Long.MAX_VALUE && conn.isOpen()) {
            next = Math.max(0, next);
            timerDeadline = now + next;
            timer = loop.schedule(next, TimeUnit.NANOSECONDS, this);
        }
    }
}
