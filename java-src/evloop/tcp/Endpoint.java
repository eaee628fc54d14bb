package evloop.tcp;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the connections of one server, or of one client, share: their settings, their handler
 * (replaceable while they run: each connection reads it on every event), their close timeout
 * and the count of open connections. A connection reaches it through its {@link Shard}.
 */
final class Endpoint {
    final Settings settings;
    /** Exactly one of these is set. */
    final TcpServer server;
    final TcpClient client;
    private final AtomicInteger active = new AtomicInteger();
    private final int maxConnections;
    private volatile TcpHandler handler;
    /** How long a closing connection may flush; closeAsync(grace) changes it for the server's stop. */
    volatile long closeTimeoutNanos;

    Endpoint(ConnectionConfig<?> cfg, int maxConnections, TcpHandler handler, TcpServer server, TcpClient client) {
        this.settings = new Settings(cfg);
        this.maxConnections = maxConnections;
        this.handler = java.util.Objects.requireNonNull(handler, "handler");
        this.closeTimeoutNanos = cfg.closeTimeout.toNanos();
        this.server = server;
        this.client = client;
    }

    TcpHandler handler() {
        return handler;
    }

    void setHandler(TcpHandler h) {
        handler = java.util.Objects.requireNonNull(h, "handler");
    }

    /** Counts a new connection against the limit; false if it is over. */
    boolean admit() {
        if (active.incrementAndGet() > maxConnections) {
            active.decrementAndGet();
            return false;
        }
        return true;
    }

    void released() {
        active.decrementAndGet();
    }

    int active() {
        return active.get();
    }
}
