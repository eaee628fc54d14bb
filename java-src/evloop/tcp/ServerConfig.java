package evloop.tcp;

import java.time.Duration;

/**
 * Options of a {@link TcpServer}, as a small builder: {@code new ServerConfig().port(0).maxClients(100)}.
 * The server copies what it needs when it starts, so changing a config later affects nothing running.
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

    /** Loops (and threads) of a server started with loops of its own; default 1. */
    public ServerConfig loops(int n) {
        this.loops = n;
        return this;
    }

    /** How a server on several loops spreads connections; default least-loaded. */
    public ServerConfig balance(TcpServer.Balance balance) {
        this.balance = balance;
        return this;
    }

    /** Address to bind; default 127.0.0.1. */
    public ServerConfig host(String host) {
        this.host = host;
        return this;
    }

    /** Port to bind; 0 lets the kernel choose (read it back with {@link TcpServer#port()}). Default 6666. */
    public ServerConfig port(int port) {
        this.port = port;
        return this;
    }

    /** Listen backlog; default 4096 (Java's 50 makes bursts of connects retry SYNs for seconds). */
    public ServerConfig backlog(int backlog) {
        this.backlog = backlog;
        return this;
    }

    /** TCP_NODELAY on accepted sockets; default on. */
    public ServerConfig noDelay(boolean on) {
        this.noDelay = on;
        return this;
    }

    /** SO_REUSEPORT on the listener, so several listeners can share the port; default off. */
    public ServerConfig reusePort(boolean on) {
        this.reusePort = on;
        return this;
    }

    /** Connections beyond this many are accepted and closed at once, and counted as rejected. */
    public ServerConfig maxClients(int max) {
        this.maxClients = max;
        return this;
    }

    /** How the byte stream splits into frames; default newline-delimited lines of at most 64 KiB. */
    public ServerConfig framing(Framing framing) {
        this.framing = framing;
        return this;
    }

    /** Lines of at most {@code max} bytes (the default framing, with another limit). */
    public ServerConfig maxLineLength(int max) {
        this.framing = Framing.lines(max);
        return this;
    }

    /** Above {@code high} queued output bytes a connection stops being read; below {@code low} it resumes. */
    public ServerConfig watermarks(long low, long high) {
        if (low < 0 || low > high) {
            throw new IllegalArgumentException("need 0 <= low <= high, got " + low + ", " + high);
        }
        this.lowWatermark = low;
        this.highWatermark = high;
        return this;
    }

    /** How long a closing connection may take to flush its output before it is reset. */
    public ServerConfig closeTimeout(Duration timeout) {
        this.closeTimeout = timeout;
        return this;
    }

    /** Most connections accepted per readiness event, so a flood of connects cannot starve the clients. */
    public ServerConfig acceptBatch(int n) {
        this.acceptBatch = n;
        return this;
    }

    /** How long accepting pauses when the process is out of fds (EMFILE/ENFILE). */
    public ServerConfig acceptRetry(Duration delay) {
        this.acceptRetry = delay;
        return this;
    }
}
