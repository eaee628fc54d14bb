package evloop.tcp;

import evloop.EventLoop;
import evloop.EventLoopGroup;
import evloop.sys.NativeException;
import evloop.sys.Sockets;
import java.io.Closeable;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
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
 * ({@link #setHandler}); {@link #close()} is idempotent and synchronous.
 */
public final class TcpServer implements Closeable {
    private static final System.Logger LOG = System.getLogger(TcpServer.class.getName());

    /** How a server on several loops spreads connections over them. */
    public enum Balance { LEAST_LOADED, REUSE_PORT }

    private final Shard[] shards;
    private final EventLoopGroup ownedGroup;
    private final InetSocketAddress localAddress;
    private final AtomicInteger active = new AtomicInteger();
    private final int maxClients;
    private volatile TcpHandler handler;
    private volatile boolean closeStarted;

    final boolean noDelay;
    final Framing framing;
    final long highWatermark;
    final long lowWatermark;
    final long closeTimeoutNanos;

    private TcpServer(List<EventLoop> loops, EventLoopGroup owned, ServerConfig cfg, TcpHandler handler)
            throws NativeException {
        this.ownedGroup = owned;
        this.handler = handler;
        this.framing = cfg.framing;
        this.maxClients = cfg.maxClients;
        this.noDelay = cfg.noDelay;
        this.highWatermark = cfg.highWatermark;
        this.lowWatermark = cfg.lowWatermark;
        this.closeTimeoutNanos = cfg.closeTimeout.toNanos();
        this.shards = new Shard[loops.size()];
        for (int i = 0; i < shards.length; i++) {
            shards[i] = new Shard(this, loops.get(i));
        }
        InetSocketAddress bindTo;
        try {
            bindTo = new InetSocketAddress(InetAddress.getByName(cfg.host), cfg.port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("unknown host: " + cfg.host, e);
        }
        boolean perLoop = cfg.balance == Balance.REUSE_PORT && shards.length > 1;
        InetSocketAddress bound = null;
        try {
            for (int i = 0; i < (perLoop ? shards.length : 1); i++) {
                InetSocketAddress at = bound == null ? bindTo : new InetSocketAddress(bound.getAddress(), bound.getPort());
                int fd = Sockets.get().listen(at, cfg.backlog, perLoop || cfg.reusePort);
                Listener l = new Listener(shards[i], fd, cfg.acceptBatch, cfg.acceptRetry.toNanos());
                shards[i].listener = l;
                if (bound == null) {
                    bound = Sockets.get().localAddress(fd);
                }
                Shard s = shards[i];
                s.loop.call(() -> {
                    l.start();
                    return null;
                });
            }
        } catch (NativeException | RuntimeException e) {
            for (Shard s : shards) {
                if (s.listener != null) {
                    s.loop.call(() -> {
                        s.listener.close();
                        return null;
                    });
                }
            }
            throw e;
        }
        this.localAddress = bound;
    }

    private static TcpServer create(List<EventLoop> loops, EventLoopGroup owned, ServerConfig cfg, TcpHandler h) {
        try {
            return new TcpServer(loops, owned, cfg, h);
        } catch (NativeException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts a server on {@code cfg.loops} loops and threads of its own (named {@code evloop-<port>-i}). */
    public static TcpServer start(ServerConfig cfg, TcpHandler handler) {
        EventLoopGroup group = EventLoopGroup.start(cfg.loops, "evloop-" + cfg.port);
        try {
            return create(group.loops(), group, cfg, handler);
        } catch (RuntimeException e) {
            group.close();
            throw e;
        }
    }

    /** Starts a server on {@code loop}, which the caller runs (it may be running already). */
    public static TcpServer start(EventLoop loop, ServerConfig cfg, TcpHandler handler) {
        return create(List.of(loop), null, cfg, handler);
    }

    /** Starts a server on every loop of {@code group}, which the caller owns and closes. */
    public static TcpServer start(EventLoopGroup group, ServerConfig cfg, TcpHandler handler) {
        return create(group.loops(), null, cfg, handler);
    }

    /** The first (for a one-loop server, the only) loop. */
    public EventLoop loop() {
        return shards[0].loop;
    }

    public List<EventLoop> loops() {
        List<EventLoop> out = new ArrayList<>(shards.length);
        for (Shard s : shards) {
            out.add(s.loop);
        }
        return out;
    }

    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** The bound port (the kernel's choice when the config said 0). */
    public int port() {
        return localAddress.getPort();
    }

    public TcpHandler handler() {
        return handler;
    }

    /** Replaces the handler; every open connection uses the new one from its next event. */
    public void setHandler(TcpHandler handler) {
        this.handler = handler;
    }

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
        return new ServerStats(accepted, active.get(), rejected, in, out, frames, pauses, acceptPauses);
    }

    /** Open connections per loop, in loop order: how the connections are spread. */
    public List<Integer> loads() {
        List<Integer> out = new ArrayList<>(shards.length);
        for (Shard s : shards) {
            out.add(s.load.get());
        }
        return out;
    }

    /** The open connections, as data (asks each loop thread). */
    public List<ConnectionInfo> connections() {
        return collect(c -> c.info());
    }

    /** The open connections themselves, to send to (asks each loop thread). */
    public List<Connection> openConnections() {
        return collect(c -> c);
    }

    private <T> List<T> collect(Function<Connection, T> f) {
        List<T> out = new ArrayList<>();
        for (Shard s : shards) {
            out.addAll(s.loop.call(() -> {
                List<T> part = new ArrayList<>();
                for (Connection c : s.connections()) {
                    part.add(f.apply(c));
                }
                return part;
            }));
        }
        return out;
    }

    // ---- called by shards, on their loop threads -----------------------------------------

    /** Counts a new connection against max clients; false if it is over the limit. */
    boolean admit() {
        if (active.incrementAndGet() > maxClients) {
            active.decrementAndGet();
            return false;
        }
        return true;
    }

    void released() {
        active.decrementAndGet();
    }

    Shard leastLoaded(Shard accepting) {
        Shard best = accepting;
        for (Shard s : shards) {
            if (s.load.get() < best.load.get()) {
                best = s;
            }
        }
        return best;
    }

    // ---- stopping ------------------------------------------------------------------------

    /** Waits until a server with loops of its own has stopped; returns at once for one on a caller's loops. */
    public void join() throws InterruptedException {
        if (ownedGroup != null) {
            ownedGroup.join();
        }
    }

    /**
     * Stops the server: closes the listeners first (the port is free for an immediate re-bind),
     * lets every connection flush its output within the close timeout, resets the rest, and
     * stops and closes the loops if the server owns them. Idempotent; returns when all fds are
     * released. Called on a loop thread (from a handler), it cannot wait for that loop to
     * flush, so its connections with output still queued are reset.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closeStarted) {
                awaitDrained();
                return;
            }
            closeStarted = true;
        }
        for (Shard s : shards) {
            if (s.loop.inLoop() || !s.loop.isRunning()) {
                s.shutdown(true);
            } else {
                // A paused loop would never flush or fire its close timers.
                s.loop.control().resume();
                s.loop.execute(() -> s.shutdown(false));
            }
        }
        if (!awaitDrained()) {
            for (Shard s : shards) {
                if (!s.loop.isClosed()) {
                    s.loop.call(() -> {
                        s.shutdown(true);
                        return null;
                    });
                }
            }
        }
        if (ownedGroup != null) {
            ownedGroup.close();
        }
    }

    /** Waits for every shard to drain; false if the close timeout (plus slack) passed first. */
    private boolean awaitDrained() {
        CompletableFuture<?>[] all = new CompletableFuture<?>[shards.length];
        for (int i = 0; i < shards.length; i++) {
            all[i] = shards[i].drained;
        }
        try {
            CompletableFuture.allOf(all).get(TimeUnit.NANOSECONDS.toMillis(closeTimeoutNanos) + 5000, TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            LOG.log(Level.WARNING, "server on " + localAddress + " did not drain in time; resetting what is left");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "server on " + localAddress + " failed while draining", e);
        }
        return false;
    }

    @Override
    public String toString() {
        return "TcpServer[" + localAddress + ", loops=" + shards.length + ", active=" + active.get() + "]";
    }
}
