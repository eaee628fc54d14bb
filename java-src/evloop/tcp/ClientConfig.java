package evloop.tcp;

import evloop.net.UnixAddress;
import java.time.Duration;

/**
 * Options of a {@link TcpClient}: where to connect (a host, name or IP literal, and a port; or
 * a Unix socket path), an optional local address to bind first, a connect timeout, and what
 * every connection has ({@link ConnectionConfig}). Every setter checks its value at once.
 */
public final class ClientConfig extends ConnectionConfig<ClientConfig> {
    String host = "127.0.0.1";
    int port = -1;
    UnixAddress unixPath;
    String localHost;
    int localPort;
    Duration connectTimeout = Duration.ofSeconds(10);
    /** How the host's name becomes addresses; a test replaces it to control their order. */
    Connector.Resolver resolver = java.net.InetAddress::getAllByName;

    /**
     * @param host a name (resolved off the loop thread), or an IPv4 or IPv6 literal; default 127.0.0.1
     * @return this config
     */
    public ClientConfig host(String host) {
        check(host != null && !host.isBlank(), "host", host, "an address or host name");
        this.host = host;
        return this;
    }

    /**
     * @param port the server's port, 1 to 65535
     * @return this config
     */
    public ClientConfig port(int port) {
        check(port >= 1 && port <= 65535, "port", port, "between 1 and 65535");
        this.port = port;
        return this;
    }

    /**
     * @param path connect to this Unix socket path (or {@code @abstract-name}) instead of TCP
     * @return this config
     */
    public ClientConfig unixPath(String path) {
        this.unixPath = path == null ? null : UnixAddress.of(path);
        return this;
    }

    /**
     * The local end of a TCP connection: bound before connecting.
     *
     * @param host local address to bind (an IP literal); null: the wildcard address of the
     *     target's family (0.0.0.0 or ::), so the kernel picks the interface, with {@code port}
     * @param port local port, 0 to 65535 (0: the kernel picks one)
     * @return this config
     */
    public ClientConfig localAddress(String host, int port) {
        check(port >= 0 && port <= 65535, "localAddress port", port, "between 0 and 65535");
        this.localHost = host;
        this.localPort = port;
        return this;
    }

    /**
     * How long resolving and connecting may take together. A name with several addresses gives
     * each its share of the time left (what remains divided by the addresses left), so an
     * address that never answers does not use up the others' time. A Unix socket whose
     * listener's backlog is full is tried again until this passes.
     *
     * @param timeout the bound; default 10 s
     * @return this config
     */
    public ClientConfig connectTimeout(Duration timeout) {
        check(timeout != null && !timeout.isNegative() && !timeout.isZero() && timeout.compareTo(MAX_DURATION) <= 0,
            "connectTimeout", timeout, "a duration above zero, at most 100 years");
        this.connectTimeout = timeout;
        return this;
    }

    /** What to connect to, for messages: {@code host:port} or {@code unix:path}. */
    String target() {
        return unixPath != null ? unixPath.toString() : host + ":" + port;
    }
}
