package evloop.tcp;

import java.time.Duration;
import java.util.Objects;

/**
 * What a server's and a client's connections have in common: framing, output watermarks,
 * TCP_NODELAY, the close timeout, and the idle, read and write timeouts. Every setter checks
 * its value at once and throws {@link IllegalArgumentException} naming the option, the value
 * and what is allowed.
 *
 * <p><b>Timeouts</b> are off (zero) unless set. Each closes a connection that stops making
 * progress, with its own {@link DisconnectCause}, unless {@link TcpHandler#onTimeout} keeps it:
 * <ul>
 *   <li>idle: no bytes either way;</li>
 *   <li>read: no complete frame arrived (since the last one, or since the connection opened),
 *       so a peer that trickles a line byte by byte without ever finishing it (slowloris) is
 *       closed as surely as a silent one;</li>
 *   <li>write: output is queued and none of it was written.</li>
 * </ul>
 * An expired connection closes at once, without the close timeout's grace: for idle and read
 * after writing what the socket takes then (output it does not take is dropped, with a reset),
 * for write with a reset. {@link TcpHandler#onDisconnect} hears the timeout's own cause.
 * While this side pauses reading ({@link Connection#pauseReading}, or output above the high
 * watermark) the idle and read clocks stand still, and they start over when reading resumes:
 * the peer's bytes waiting in the socket are not its silence. The write timeout runs on.
 * They cost one timer per connection, re-armed only when it fires, and no clock read per
 * message: activity is stamped with the loop's per-turn clock ({@code EventLoop.now()}).
 *
 * @param <T> the concrete config, so that setters chain
 */
public abstract class ConnectionConfig<T extends ConnectionConfig<T>> {
    Framing framing = Framing.lines(64 * 1024);
    long highWatermark = 1024 * 1024;
    long lowWatermark = 256 * 1024;
    boolean noDelay = true;
    Duration closeTimeout = Duration.ofSeconds(5);
    Duration idleTimeout = Duration.ZERO;
    Duration readTimeout = Duration.ZERO;
    Duration writeTimeout = Duration.ZERO;

    ConnectionConfig() {}

    @SuppressWarnings("unchecked")
    private T self() {
        return (T) this;
    }

    static void check(boolean ok, String option, Object value, String allowed) {
        if (!ok) {
            throw new IllegalArgumentException(option + " must be " + allowed + ", got " + value);
        }
    }

    /** Longer than any timeout makes sense for, and short enough for nanosecond arithmetic. */
    static final Duration MAX_DURATION = Duration.ofDays(36500);

    static Duration checkDuration(String option, Duration d) {
        check(d != null && !d.isNegative() && d.compareTo(MAX_DURATION) <= 0, option, d,
            "a duration from zero to 100 years");
        return d;
    }

    /**
     * @param framing how the byte stream splits into frames; default newline-delimited lines of
     *     at most 64 KiB
     * @return this config
     */
    public T framing(Framing framing) {
        this.framing = Objects.requireNonNull(framing, "framing");
        return self();
    }

    /**
     * @param max lines of at most this many bytes, newline included (the default framing, with
     *     another limit)
     * @return this config
     */
    public T maxLineLength(int max) {
        check(max >= 1 && max <= 64 << 20, "maxLineLength", max, "between 1 and 67108864 (64 MiB)");
        this.framing = Framing.lines(max);
        return self();
    }

    /**
     * Above {@code high} queued output bytes a connection stops being read and reports itself
     * not writable; at or below {@code low} it resumes.
     *
     * @param low the low watermark, 0 or more
     * @param high the high watermark, at least {@code low}
     * @return this config
     */
    public T watermarks(long low, long high) {
        check(low >= 0 && low <= high, "watermarks", low + ", " + high, "0 <= low <= high");
        this.lowWatermark = low;
        this.highWatermark = high;
        return self();
    }

    /**
     * @param on TCP_NODELAY on TCP connections; default on
     * @return this config
     */
    public T noDelay(boolean on) {
        this.noDelay = on;
        return self();
    }

    /**
     * @param timeout how long a closing connection may take to flush its output before it is reset
     * @return this config
     */
    public T closeTimeout(Duration timeout) {
        this.closeTimeout = checkDuration("closeTimeout", timeout);
        return self();
    }

    /**
     * @param timeout close a connection with no bytes either way for this long; zero: never
     * @return this config
     */
    public T idleTimeout(Duration timeout) {
        this.idleTimeout = checkDuration("idleTimeout", timeout);
        return self();
    }

    /**
     * @param timeout close a connection that has not completed a frame for this long; zero: never
     * @return this config
     */
    public T readTimeout(Duration timeout) {
        this.readTimeout = checkDuration("readTimeout", timeout);
        return self();
    }

    /**
     * @param timeout reset a connection whose queued output made no progress for this long; zero: never
     * @return this config
     */
    public T writeTimeout(Duration timeout) {
        this.writeTimeout = checkDuration("writeTimeout", timeout);
        return self();
    }
}
