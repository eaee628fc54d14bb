package evloop.tcp;

import java.time.Duration;
import java.util.Objects;

/**
 * Options of a {@link TcpServer}, as a small builder: {@code new ServerConfig().port(0).maxClients(100)}.
 * Every setter checks its value at once and throws {@link IllegalArgumentException} naming the
 * option, the value and what is allowed, so a mistake surfaces where it is made, not as a
 * server that misbehaves later. The server copies what it needs when it starts, so changing a
 * config afterwards affects nothing running.
 */
public final class ServerConfig {
    String host = "127.0.0.1";
    int port = 6666;
    int backlog = 4096;
    boolean noDelay = true;
    boolean reusePort;
    int maxClients = Integer.MAX_VALUE;
    Framing framing = Framing.lines(64 * 1024);
    long highWatermark = 1024 * 1024;
    long lowWatermark = 256 * 1024;
    Duration closeTimeout = Duration.ofSeconds(5);
    int acceptBatch = 256;
    Duration acceptRetry = Duration.ofMillis(100);
    int loops = 1;
    TcpServer.Balance balance = TcpServer.Balance.LEAST_LOADED;
    /** How listeners accept; tests replace it to make accept4 fail on cue. */
    Listener.Acceptor acceptor = evloop.sys.Sockets.get()::accept;

    static void check(boolean ok, String option, Object value, String allowed) {
        if (!ok) {
            throw new IllegalArgumentException(option + " must be " + allowed + ", got " + value);
        }
    }

    static Duration checkDuration(String option, Duration d) {
        check(d != null && !d.isNegative(), option, d, "a duration of zero or more");
        return d;
    }

    /**
     * @param n loops (and threads) of a server started with loops of its own, 1 to 1024; default 1
     * @return this config
     */
    public ServerConfig loops(int n) {
        check(n >= 1 && n <= 1024, "loops", n, "between 1 and 1024");
        this.loops = n;
        return this;
    }

    /**
     * @param balance how a server on several loops spreads connections; default least-loaded
     * @return this config
     */
    public ServerConfig balance(TcpServer.Balance balance) {
        this.balance = Objects.requireNonNull(balance, "balance");
        return this;
    }

    /**
     * @param host address or name to bind; default 127.0.0.1
     * @return this config
     */
    public ServerConfig host(String host) {
        check(host != null && !host.isBlank(), "host", host, "an address or host name");
        this.host = host;
        return this;
    }

    /**
     * @param port port to bind, 0 to 65535; 0 lets the kernel choose (read it back with
     *     {@link TcpServer#port()}). Default 6666.
     * @return this config
     */
    public ServerConfig port(int port) {
        check(port >= 0 && port <= 65535, "port", port, "between 0 and 65535");
        this.port = port;
        return this;
    }

    /**
     * @param backlog listen backlog, at least 1; default 4096 (Java's 50 makes bursts of
     *     connects retry SYNs for seconds)
     * @return this config
     */
    public ServerConfig backlog(int backlog) {
        check(backlog >= 1, "backlog", backlog, "at least 1");
        this.backlog = backlog;
        return this;
    }

    /**
     * @param on TCP_NODELAY on accepted sockets; default on
     * @return this config
     */
    public ServerConfig noDelay(boolean on) {
        this.noDelay = on;
        return this;
    }

    /**
     * @param on SO_REUSEPORT on the listener, so several listeners can share the port; default off
     * @return this config
     */
    public ServerConfig reusePort(boolean on) {
        this.reusePort = on;
        return this;
    }

    /**
     * @param max connections beyond this many are accepted and closed at once, and counted as
     *     rejected; at least 1
     * @return this config
     */
    public ServerConfig maxClients(int max) {
        check(max >= 1, "maxClients", max, "at least 1");
        this.maxClients = max;
        return this;
    }

    /**
     * @param framing how the byte stream splits into frames; default newline-delimited lines of
     *     at most 64 KiB
     * @return this config
     */
    public ServerConfig framing(Framing framing) {
        this.framing = Objects.requireNonNull(framing, "framing");
        return this;
    }

    /**
     * @param max lines of at most this many bytes, newline included (the default framing, with
     *     another limit); at least 1
     * @return this config
     */
    public ServerConfig maxLineLength(int max) {
        check(max >= 1 && max <= 64 << 20, "maxLineLength", max, "between 1 and 67108864 (64 MiB)");
        this.framing = Framing.lines(max);
        return this;
    }

    /**
     * Above {@code high} queued output bytes a connection stops being read; at or below
     * {@code low} it resumes.
     *
     * @param low the low watermark, 0 or more
     * @param high the high watermark, at least {@code low}
     * @return this config
     */
    public ServerConfig watermarks(long low, long high) {
        check(low >= 0 && low <= high, "watermarks", low + ", " + high, "0 <= low <= high");
        this.lowWatermark = low;
        this.highWatermark = high;
        return this;
    }

    /**
     * @param timeout how long a closing connection may take to flush its output before it is reset
     * @return this config
     */
    public ServerConfig closeTimeout(Duration timeout) {
        this.closeTimeout = checkDuration("closeTimeout", timeout);
        return this;
    }

    /**
     * @param n most connections accepted per readiness event, so a flood of connects cannot
     *     starve the clients; at least 1
     * @return this config
     */
    public ServerConfig acceptBatch(int n) {
        check(n >= 1, "acceptBatch", n, "at least 1");
        this.acceptBatch = n;
        return this;
    }

    /**
     * @param delay how long accepting pauses when the process is out of fds or memory
     *     (EMFILE, ENFILE, ENOBUFS, ENOMEM); more than zero
     * @return this config
     */
    public ServerConfig acceptRetry(Duration delay) {
        check(delay != null && !delay.isNegative() && !delay.isZero(), "acceptRetry", delay, "a duration above zero");
        this.acceptRetry = delay;
        return this;
    }
}
