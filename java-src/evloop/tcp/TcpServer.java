package evloop.tcp;

import evloop.EventLoop;
import evloop.EventLoopGroup;
import evloop.sys.NativeException;
import java.io.Closeable;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * A TCP server on event loops: listeners, connections and a {@link TcpHandler}.
 *
 * <p>{@link #start(ServerConfig, TcpHandler)} gives the server loops and threads of its own
 * ({@link ServerConfig#loops}); {@link #start(EventLoop, ServerConfig, TcpHandler)} and
 * {@link #start(EventLoopGroup, ServerConfig, TcpHandler)} put it on loops the caller owns.
 * On several loops, either one listener hands each new connection to the loop with the fewest
 * ({@link Balance#LEAST_LOADED}: even spread, one accept path) or every loop has its own
 * SO_REUSEPORT listener ({@link Balance#REUSE_PORT}: the kernel spreads by connection hash, no
 * hand-off, but no regard for load). The handler can be replaced while the server runs
 * ({@link #setHandler}).
 *
 * <p><b>Stopping.</b> {@link #closeAsync(Duration)} closes the listeners at once (the port is
 * free for an immediate re-bind, even while a handler blocks a loop), lets every connection flush its output within a grace period,
 * resets what is left, and closes the loops if the server owns them; its future completes when
 * all that is done, and {@link #status()} goes from RUNNING through STOPPING to STOPPED.
 * {@link #close()} does the same and waits, boundedly, except on a loop thread, where it never
 * waits (two loops closing each other's servers cannot deadlock). Every step is bounded: a
 * server whose loop is blocked by a handler still releases its threads and fds once the handler
 * returns, and close returns meanwhile.
 */
public final class TcpServer implements Closeable {
    /** How a server on several loops spreads connections over them. */
    public enum Balance {
        /** One listener hands each new connection to the loop with the fewest. */
        LEAST_LOADED,
        /** A SO_REUSEPORT listener per loop; the kernel spreads connections by hash. */
        REUSE_PORT
    }

    /** Where a server is in its life. */
    public enum Status {
        /** Accepting and serving. */
        RUNNING,
        /** Listeners closed; connections flushing. */
        STOPPING,
        /** Everything released. */
        STOPPED
    }


    private final Shard[] shards;
    private final Endpoint endpoint;
    private final EventLoopGroup ownedGroup;
    /** Where it listens: an InetSocketAddress, or a UnixAddress. */
    private final SocketAddress address;
    /** REUSE_PORT: every loop accepts its own connections, so none are handed off. */
    private final boolean listenerPerLoop;
    private final AtomicReference<Status> status = new AtomicReference<>(Status.RUNNING);
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();

    private TcpServer(List<EventLoop> loops, EventLoopGroup owned, ServerConfig cfg, TcpHandler handler)
            throws NativeException {
        this.ownedGroup = owned;
        this.endpoint = new Endpoint(cfg, cfg.maxClients, handler, this, null);
        this.listenerPerLoop = cfg.balance == Balance.REUSE_PORT && loops.size() > 1;
        this.shards = new Shard[loops.size()];
        for (int i = 0; i < shards.length; i++) {
            shards[i] = new Shard(endpoint, loops.get(i));
        }
        this.address = Listener.openAll(shards, cfg);
    }

    private static TcpServer create(List<EventLoop> loops, EventLoopGroup owned, ServerConfig cfg, TcpHandler h) {
        try {
            return new TcpServer(loops, owned, cfg, h);
        } catch (NativeException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts a server on {@code cfg.loops} loops and threads of its own (named {@code evloop-<port>-i}).
     *
     * @param cfg where to listen and how connections behave
     * @param handler the connections' callbacks
     * @return the running server
     */
    public static TcpServer start(ServerConfig cfg, TcpHandler handler) {
        EventLoopGroup group = EventLoopGroup.start(cfg.loops, "evloop-" + (cfg.unixPath != null ? "unix" : cfg.port));
        try {
            return create(group.loops(), group, cfg, handler);
        } catch (RuntimeException e) {
            group.close();
            throw e;
        }
    }

    /**
     * Starts a server on {@code loop}, which the caller runs (it may be running already).
     *
     * @param loop the loop
     * @param cfg where to listen and how connections behave
     * @param handler the connections' callbacks
     * @return the running server
     */
    public static TcpServer start(EventLoop loop, ServerConfig cfg, TcpHandler handler) {
        return create(List.of(loop), null, cfg, handler);
    }

    /**
     * Starts a server on every loop of {@code group}, which the caller owns and closes.
     *
     * @param group the loops
     * @param cfg where to listen and how connections behave
     * @param handler the connections' callbacks
     * @return the running server
     */
    public static TcpServer start(EventLoopGroup group, ServerConfig cfg, TcpHandler handler) {
        return create(group.loops(), null, cfg, handler);
    }

    /** @return the first (for a one-loop server, the only) loop */
    public EventLoop loop() {
        return shards[0].loop;
    }

    /** @return every loop, in order */
    public List<EventLoop> loops() {
        List<EventLoop> out = new ArrayList<>(shards.length);
        for (Shard s : shards) {
            out.add(s.loop);
        }
        return out;
    }

    /** @return where it listens: an {@code InetSocketAddress}, or a {@link evloop.net.UnixAddress} */
    public SocketAddress address() {
        return address;
    }

    /** @return the TCP address it listens on, null for a Unix socket server */
    public InetSocketAddress localAddress() {
        return address instanceof InetSocketAddress ? (InetSocketAddress) address : null;
    }

    /** @return the bound port (the kernel's choice when the config said 0), -1 for a Unix socket server */
    public int port() {
        return address instanceof InetSocketAddress ? ((InetSocketAddress) address).getPort() : -1;
    }

    /** @return the handler */
    public TcpHandler handler() {
        return endpoint.handler();
    }

    /**
     * @param handler replaces the handler; every open connection uses it from its next event, but
     *     one that keeps a handler of its own ({@link Connection#keepHandler})
     */
    public void setHandler(TcpHandler handler) {
        endpoint.setHandler(handler);
    }

    /** @return the counters */
    public ServerStats stats() {
        long accepted = 0, rejected = 0, in = 0, out = 0, frames = 0, pauses = 0, acceptPauses = 0;
        for (Shard s : shards) {
            accepted += s.accepted;
            rejected += s.rejected;
            in += s.bytesIn;
            out += s.bytesOut;
            frames += s.framesIn;
            pauses += s.pauses;
            acceptPauses += s.acceptPauses;
        }
        return new ServerStats(accepted, endpoint.active(), rejected, in, out, frames, pauses, acceptPauses);
    }

    /** @return open connections per loop, in loop order: how the connections are spread */
    public List<Integer> loads() {
        List<Integer> out = new ArrayList<>(shards.length);
        for (Shard s : shards) {
            out.add(s.load.get());
        }
        return out;
    }

    /**
     * The open connections as data, asking each loop thread and waiting for the answers. A
     * loop thread never waits for another loop, so from a handler this works for a server on
     * that loop alone (or on loops nobody runs); on several running loops it throws, rather
     * than answer with part of the connections: use {@link #connectionsAsync()} there.
     *
     * @return the open connections, in loop order
     * @throws IllegalStateException from a loop thread, for a server on other running loops;
     *     or if a loop did not answer in time
     */
    public List<ConnectionInfo> connections() {
        return collect(Connection::info);
    }

    /**
     * @return the open connections themselves, to send to; as {@link #connections()} does,
     *     this waits for each loop, and from a loop thread see {@link #openConnectionsAsync()}
     */
    public List<Connection> openConnections() {
        return collect(c -> c);
    }

    /** @return {@link #connections()} without waiting: from any thread, a handler too */
    public CompletableFuture<List<ConnectionInfo>> connectionsAsync() {
        return collectAsync(Connection::info);
    }

    /** @return {@link #openConnections()} without waiting: from any thread, a handler too */
    public CompletableFuture<List<Connection>> openConnectionsAsync() {
        return collectAsync(c -> c);
    }

    private <T> List<T> collect(Function<Connection, T> f) {
        List<T> out = new ArrayList<>();
        if (status.get() == Status.STOPPED) {
            return out;
        }
        for (Shard s : shards) {
            try {
                out.addAll(s.loop.call(() -> s.map(f)));
            } catch (RejectedExecutionException closing) {
                // That loop is closing: its connections are going, none to show.
            } catch (IllegalStateException e) {
                if (!s.loop.isClosed()) {
                    throw e;   // refused from a loop thread, or no answer in time: never a partial list
                }
            }
        }
        return out;
    }

    private <T> CompletableFuture<List<T>> collectAsync(Function<Connection, T> f) {
        List<CompletableFuture<List<T>>> parts = new ArrayList<>();
        if (status.get() != Status.STOPPED) {
            for (Shard s : shards) {
                parts.add(s.mapAsync(f));
            }
        }
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0])).thenApply(done -> {
            List<T> out = new ArrayList<>();
            for (CompletableFuture<List<T>> p : parts) {
                out.addAll(p.join());
            }
            return out;
        });
    }

    // ---- called by shards, on their loop threads -----------------------------------------

    /** The shard a connection accepted on {@code accepting} goes to: itself with a listener per loop. */
    Shard leastLoaded(Shard accepting) {
        if (listenerPerLoop) {
            return accepting;
        }
        Shard best = accepting;
        for (Shard s : shards) {
            if (s.load.get() < best.load.get()) {
                best = s;
            }
        }
        return best;
    }

    // ---- stopping ------------------------------------------------------------------------

    /** @return completes when the server has stopped, however it was stopped (Netty's closeFuture) */
    public CompletableFuture<Void> whenStopped() {
        return stopped;
    }

    /** @return RUNNING, STOPPING or STOPPED */
    public Status status() {
        return status.get();
    }

    /**
     * Waits until a server with loops of its own has stopped; returns at once for one on a caller's loops.
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public void join() throws InterruptedException {
        if (ownedGroup != null) {
            ownedGroup.join();
        }
    }

    /** @return {@link #closeAsync(Duration)} with the configured close timeout as grace period */
    public CompletableFuture<Void> closeAsync() {
        return closeAsync(Duration.ofNanos(endpoint.closeTimeoutNanos));
    }

    /**
     * Starts stopping the server (idempotent: later calls return the same future) and returns
     * at once. The listeners close first, then every connection gets {@code grace} to flush its
     * output before it is reset; then the server's own loops, if it has any, are closed.
     *
     * @param grace how long connections may take to flush
     * @return completes when everything is released
     */
    public CompletableFuture<Void> closeAsync(Duration grace) {
        long graceNanos = ServerConfig.checkDuration("grace", grace).toNanos();
        if (status.compareAndSet(Status.RUNNING, Status.STOPPING)) {
            endpoint.closeTimeoutNanos = graceNanos;
            closeListeners();
            Stopping.start("server on " + address, shards, ownedGroup, grace, stopped, () -> status.set(Status.STOPPED));
        }
        return stopped;
    }

    /**
     * Stops the server as {@link #closeAsync()} does, and waits for it, boundedly, unless
     * called on a loop thread (from a handler), where it returns at once: waiting there could
     * block the very loop that has to flush.
     */
    @Override
    public void close() {
        Stopping.await(closeAsync(), Stopping.closeWaitMillis(endpoint.closeTimeoutNanos), "server on " + address);
    }

    /**
     * Closes the listeners before closeAsync returns, so the port (or socket file) is free by
     * then, without waiting for any loop: a listener closes from any thread, and off its loop's
     * thread the loop frees the fd's number once it is out of its tables.
     */
    private void closeListeners() {
        for (Shard s : shards) {
            if (s.listener != null) {
                s.listener.close();
            }
        }
    }

    @Override
    public String toString() {
        return "TcpServer[" + address + ", " + status.get().name().toLowerCase() + ", loops=" + shards.length
            + ", active=" + endpoint.active() + "]";
    }
}
