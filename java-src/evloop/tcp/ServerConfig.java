package evloop.tcp;

import evloop.net.UnixAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * Options of a {@link TcpServer}, as a small builder: {@code new ServerConfig().port(0).maxClients(100)}.
 * Besides what every connection has ({@link ConnectionConfig}), where to listen: a TCP host and
 * port, or a Unix socket path ({@link #unixPath}). Every setter checks its value at once and
 * throws {@link IllegalArgumentException} naming the option, the value and what is allowed.
 * The server copies what it needs when it starts, so changing a config afterwards affects
 * nothing running.
 */
public final class ServerConfig extends ConnectionConfig<ServerConfig> {
    String host = "127.0.0.1";
    int port = 6666;
    UnixAddress unixPath;
    int unixFileMode = -1;
    int backlog = 4096;
    boolean reusePort;
    int maxClients = Integer.MAX_VALUE;
    int acceptBatch = 256;
    Duration acceptRetry = Duration.ofMillis(100);
    int loops = 1;
    TcpServer.Balance balance = TcpServer.Balance.LEAST_LOADED;
    /** How listeners accept; tests replace it to make accept4 fail on cue. */
    Listener.Acceptor acceptor = evloop.sys.Sockets.get()::accept;

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
     * Listens on a Unix domain socket instead of TCP. A path whose socket nobody listens on any
     * more (a server that died) is replaced; one where a server still listens fails with
     * EADDRINUSE; a path that is not a socket is never touched. Of servers starting on one path
     * at once, one gets it and the others fail with EADDRINUSE. The file appears only once it
     * listens, with its mode. It is removed when the server closes. {@code @name} is a Linux
     * abstract name: no file at all.
     *
     * @param path a filesystem path of at most 107 bytes, or {@code @name}; null: TCP
     * @return this config
     */
    public ServerConfig unixPath(String path) {
        this.unixPath = path == null ? null : UnixAddress.of(path);
        return this;
    }

    /**
     * @param mode permission bits of the Unix socket file, 0 to 0777 (0660: owner and group
     *     may connect); -1 (the default) leaves what the umask gives
     * @return this config
     */
    public ServerConfig unixFileMode(int mode) {
        check(mode >= -1 && mode <= 0777, "unixFileMode", mode < 0 ? mode : "0" + Integer.toOctalString(mode),
            "between 0 and 0777, or -1");
        this.unixFileMode = mode;
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
        check(delay != null && !delay.isNegative() && !delay.isZero() && delay.compareTo(MAX_DURATION) <= 0,
            "acceptRetry", delay, "a duration above zero, at most 100 years");
        this.acceptRetry = delay;
        return this;
    }
}
