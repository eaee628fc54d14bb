package evloop.tcp;

import evloop.EventLoop;
import evloop.EventLoopGroup;
import java.io.Closeable;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Outbound connections, to a TCP host and port or a Unix socket, with the same
 * {@link Connection}, {@link TcpHandler}, framing, write queue, backpressure and timeouts as a
 * server's. A client is what Netty calls a bootstrap: a config and a handler on a loop, from
 * which {@link #connect()} opens as many connections as asked; they share its handler
 * (replaceable while they run) and its counters. Clients and servers can share one loop.
 *
 * <pre>{@code
 * TcpClient.connect(loop, new ClientConfig().port(6666), (conn, line) -> System.out.print(UTF_8.decode(line)))
 *     .thenAccept(conn -> conn.send("hi\n".getBytes(UTF_8)));   // closing the connection closes its client
 * }</pre>
 *
 * A connect resolves names on a resolver thread, never the loop's, tries each address of the
 * name in turn, and is bounded by the connect timeout; it fails with an exception that names
 * the target and the errno, as {@code connect(127.0.0.1:1): ECONNREFUSED (Connection refused)}.
 * Closing the client (or its loop) fails the connects still in flight and closes its
 * connections: close the clients you create.
 */
public final class TcpClient implements Closeable {
    private final Endpoint endpoint;
    private final Shard shard;
    private final ClientConfig cfg;
    private final EventLoopGroup ownedLoop;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    /** Made by connect(loop, ...) or connectOnce: the client lives as long as its one connection. */
    private volatile boolean oneShot;

    private TcpClient(EventLoop loop, EventLoopGroup owned, ClientConfig cfg, TcpHandler handler) {
        this.cfg = copy(cfg);
        this.ownedLoop = owned;
        this.endpoint = new Endpoint(cfg, Integer.MAX_VALUE, handler, null, this);
        this.shard = new Shard(endpoint, loop);
    }

    private static ClientConfig copy(ClientConfig c) {
        if (c.unixPath == null && c.port < 0) {
            throw new IllegalArgumentException("a client needs a port (or a unix path) to connect to");
        }
        ClientConfig d = new ClientConfig();
        d.host = c.host;
        d.port = c.port;
        d.unixPath = c.unixPath;
        d.localHost = c.localHost;
        d.localPort = c.localPort;
        d.connectTimeout = c.connectTimeout;
        d.noDelay = c.noDelay;
        d.resolver = c.resolver;
        return d;
    }

    /**
     * @param loop the loop its connections live on (a server may share it)
     * @param cfg where to connect and how its connections behave
     * @param handler their callbacks
     * @return a client; nothing is connected until {@link #connect()}
     */
    public static TcpClient create(EventLoop loop, ClientConfig cfg, TcpHandler handler) {
        return new TcpClient(loop, null, cfg, handler);
    }

    /**
     * A client on a loop and (daemon) thread of its own, which {@link #close()} closes.
     *
     * @param cfg where to connect and how its connections behave
     * @param handler their callbacks
     * @return a client
     */
    public static TcpClient create(ClientConfig cfg, TcpHandler handler) {
        EventLoopGroup group = EventLoopGroup.start(1, "evloop-client", true);
        try {
            return new TcpClient(group.loop(0), group, cfg, handler);
        } catch (RuntimeException e) {
            group.close();
            throw e;
        }
    }

    /**
     * One connection on a loop and (daemon) thread of its own, both closed when the connection
     * ends or the connect fails: nothing to close but the connection.
     *
     * @param cfg where to connect
     * @param handler the connection's callbacks
     * @return completes with the connection (on its loop thread) or why it failed
     */
    public static CompletableFuture<Connection> connectOnce(ClientConfig cfg, TcpHandler handler) {
        return create(cfg, handler).connectOnly();
    }

    /**
     * Connects once, and closes with that connection: when it ends, or when the connect fails.
     * The handler is the user's own object, not a wrapper, so what it is (a BatchHandler, say)
     * and what it overrides reach the connection unchanged.
     */
    private CompletableFuture<Connection> connectOnly() {
        oneShot = true;
        CompletableFuture<Connection> f = connect();
        f.whenComplete((c, e) -> {
            if (e != null) {
                closeAsync(Duration.ZERO);
            }
        });
        return f;
    }

    /** A connection of this client ended, after its onDisconnect; on the loop thread. */
    void connectionEnded() {
        if (oneShot) {
            closeAsync(Duration.ZERO);
        }
    }

    /**
     * Opens one connection on {@code loop}, with a client of its own that closes when the
     * connection ends (or the connect fails): nothing to close but the connection.
     *
     * @param loop the loop
     * @param cfg where to connect
     * @param handler the connection's callbacks
     * @return completes with the connection (on the loop thread) or the failure
     */
    public static CompletableFuture<Connection> connect(EventLoop loop, ClientConfig cfg, TcpHandler handler) {
        return create(loop, cfg, handler).connectOnly();
    }

    /** @return completes with a new connection (on the loop thread, after its onConnect) or why it failed */
    public CompletableFuture<Connection> connect() {
        return Connector.start(shard, cfg);
    }

    /** @return the loop its connections live on */
    public EventLoop loop() {
        return shard.loop;
    }

    /** @return the handler */
    public TcpHandler handler() {
        return endpoint.handler();
    }

    /**
     * @param handler replaces the handler; open connections use it from their next event, but
     *     one that keeps a handler of its own ({@link Connection#keepHandler})
     */
    public void setHandler(TcpHandler handler) {
        endpoint.setHandler(handler);
    }

    /** @return the counters */
    public ClientStats stats() {
        Shard s = shard;
        return new ClientStats(s.accepted, s.failed, endpoint.active(), s.bytesIn, s.bytesOut, s.framesIn, s.pauses);
    }

    /**
     * @return the open connections as data (asks the loop and waits: from another loop's
     *     thread it throws, see {@link EventLoop#call(java.util.function.Supplier)})
     */
    public List<ConnectionInfo> connections() {
        try {
            return shard.loop.call(() -> shard.map(Connection::info));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            return List.of();
        } catch (IllegalStateException e) {
            if (shard.loop.isClosed()) {
                return List.of();
            }
            throw e;   // refused from a loop thread, or no answer in time: not an empty list
        }
    }

    /**
     * Starts closing: connects in flight fail, connections get {@code grace} to flush before
     * they are reset, then a loop of the client's own is closed. Idempotent.
     *
     * @param grace how long connections may take to flush
     * @return completes when everything is released
     */
    public CompletableFuture<Void> closeAsync(Duration grace) {
        ConnectionConfig.checkDuration("grace", grace);
        if (closing.compareAndSet(false, true)) {
            endpoint.closeTimeoutNanos = grace.toNanos();
            Stopping.start("client of " + cfg.target(), new Shard[] {shard}, ownedLoop, grace, closed, () -> { });
        }
        return closed;
    }

    /**
     * Closes as {@link #closeAsync} does with the close timeout, and waits for it, boundedly,
     * unless called on a loop thread, where it never waits.
     */
    @Override
    public void close() {
        long graceNanos = endpoint.closeTimeoutNanos;
        Stopping.await(closeAsync(Duration.ofNanos(graceNanos)), Stopping.closeWaitMillis(graceNanos),
            "client of " + cfg.target());
    }

    @Override
    public String toString() {
        return "TcpClient[" + cfg.target() + ", active=" + endpoint.active() + "]";
    }
}
