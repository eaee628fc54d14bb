package evloop.tcp;

import evloop.EventLoop;
import evloop.EventLoopGroup;
import java.io.Closeable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Outbound connections, to a TCP host and port or a Unix socket, with the same
 * {@link Connection}, {@link TcpHandler}, framing, write queue, backpressure and timeouts as a
 * server's. A client is what Netty calls a bootstrap: a config and a handler on a loop, from
 * which {@link #connect()} opens as many connections as asked; they share its handler
 * (replaceable while they run) and its counters. Clients and servers can share one loop.
 *
 * <pre>{@code
 * TcpClient.connect(loop, new ClientConfig().port(6666), (conn, line) -> System.out.print(UTF_8.decode(line)))
 *     .thenAccept(conn -> conn.send("hi\n".getBytes(UTF_8)));
 * }</pre>
 *
 * A connect resolves names on a resolver thread, never the loop's, tries each address of the
 * name in turn, and is bounded by the connect timeout; it fails with an exception that names
 * the target and the errno, as {@code connect(127.0.0.1:1): ECONNREFUSED (Connection refused)}.
 */
public final class TcpClient implements Closeable {
    private final Endpoint endpoint;
    private final Shard shard;
    private final ClientConfig cfg;
    private final EventLoopGroup ownedLoop;

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
     * A client on a loop and thread of its own, which {@link #close()} closes.
     *
     * @param cfg where to connect and how its connections behave
     * @param handler their callbacks
     * @return a client
     */
    public static TcpClient create(ClientConfig cfg, TcpHandler handler) {
        EventLoopGroup group = EventLoopGroup.start(1, "evloop-client");
        try {
            return new TcpClient(group.loop(0), group, cfg, handler);
        } catch (RuntimeException e) {
            group.close();
            throw e;
        }
    }

    /**
     * Opens one connection on {@code loop}: {@code create(loop, cfg, handler).connect()}.
     *
     * @param loop the loop
     * @param cfg where to connect
     * @param handler the connection's callbacks
     * @return completes with the connection (on the loop thread) or the failure
     */
    public static CompletableFuture<Connection> connect(EventLoop loop, ClientConfig cfg, TcpHandler handler) {
        return create(loop, cfg, handler).connect();
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

    /** @param handler replaces the handler; open connections use it from their next event */
    public void setHandler(TcpHandler handler) {
        endpoint.setHandler(handler);
    }

    /** @return the counters */
    public ClientStats stats() {
        Shard s = shard;
        return new ClientStats(s.accepted, s.failed, endpoint.active(), s.bytesIn, s.bytesOut, s.framesIn, s.pauses);
    }

    /** @return the open connections as data (asks the loop) */
    public List<ConnectionInfo> connections() {
        if (shard.loop.isClosed()) {
            return List.of();
        }
        return shard.loop.call(() -> {
            List<ConnectionInfo> out = new ArrayList<>();
            for (Connection c : shard.connections()) {
                out.add(c.info());
            }
            return out;
        });
    }

    /**
     * Closes every connection (flushing, within the close timeout) and, for a client with a loop
     * of its own, the loop. On a loop thread it does not wait.
     */
    @Override
    public void close() {
        if (shard.onLoop(() -> shard.shutdown(false))) {
            if (EventLoop.current() == null) {
                try {
                    shard.drained.get(TimeUnit.NANOSECONDS.toMillis(endpoint.closeTimeoutNanos) + 2000, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (Exception e) {
                    shard.onLoop(() -> shard.shutdown(true));
                }
            }
        }
        if (ownedLoop != null) {
            ownedLoop.close(Duration.ofNanos(endpoint.closeTimeoutNanos).plusSeconds(2));
        }
    }

    @Override
    public String toString() {
        return "TcpClient[" + cfg.target() + ", active=" + endpoint.active() + "]";
    }
}
