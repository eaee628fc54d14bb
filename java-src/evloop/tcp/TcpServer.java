package evloop.tcp;

import evloop.EventLoop;
import evloop.sys.Native;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.io.Closeable;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A TCP server on an {@link EventLoop}: a listener, its connections and a {@link TcpHandler}.
 *
 * <p>{@link #start(ServerConfig, TcpHandler)} gives the server a loop and a thread of its own;
 * {@link #start(EventLoop, ServerConfig, TcpHandler)} puts it on a loop the caller runs. The
 * handler can be replaced while the server runs ({@link #setHandler}); open connections use
 * the new one from their next event. {@link #close()} is idempotent and synchronous.
 */
public final class TcpServer implements Closeable {
    private static final System.Logger LOG = System.getLogger(TcpServer.class.getName());
    private static final int READ_SIZE = 64 * 1024;

    private final EventLoop loop;
    private final boolean ownsLoop;
    private final Listener listener;
    private final InetSocketAddress localAddress;
    private final Set<Connection> connections = new HashSet<>();
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private final int maxClients;
    private final boolean noDelay;
    private Thread thread;
    private volatile TcpHandler handler;
    private boolean closing;
    private volatile boolean closeStarted;

    final Framing framing;
    final long highWatermark;
    final long lowWatermark;
    final long closeTimeoutNanos;
    final Connection.ReadBuffer readBuffer;
    final OutputQueue.Pool pool = new OutputQueue.Pool(32 * 1024, 256);

    // Written on the loop thread only; read from anywhere.
    private volatile long accepted;
    private volatile int active;
    private volatile long rejected;
    private volatile long bytesIn;
    private volatile long bytesOut;
    private volatile long framesIn;
    private volatile long pauses;
    private volatile long acceptPauses;

    private TcpServer(EventLoop loop, boolean ownsLoop, ServerConfig cfg, TcpHandler handler) throws NativeException {
        this.loop = loop;
        this.ownsLoop = ownsLoop;
        this.handler = handler;
        this.framing = cfg.framing;
        this.maxClients = cfg.maxClients;
        this.noDelay = cfg.noDelay;
        this.highWatermark = cfg.highWatermark;
        this.lowWatermark = cfg.lowWatermark;
        this.closeTimeoutNanos = cfg.closeTimeout.toNanos();
        this.readBuffer = new Connection.ReadBuffer(cfg.framing.maxFrameLength() + READ_SIZE);
        InetSocketAddress bindTo;
        try {
            bindTo = new InetSocketAddress(InetAddress.getByName(cfg.host), cfg.port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("unknown host: " + cfg.host, e);
        }
        int fd = Sockets.get().listen(bindTo, cfg.backlog, cfg.reusePort);
        try {
            this.localAddress = Sockets.get().localAddress(fd);
            this.listener = new Listener(this, fd, cfg.acceptBatch, cfg.acceptRetry.toNanos());
            listener.start();
        } catch (NativeException | RuntimeException e) {
            Native.get().closeQuietly(fd);
            throw e;
        }
    }

    /** Starts a server with a loop and a thread of its own (named {@code evloop-<port>}). */
    public static TcpServer start(ServerConfig cfg, TcpHandler handler) {
        EventLoop loop = EventLoop.open();
        TcpServer server;
        try {
            server = new TcpServer(loop, true, cfg, handler);
        } catch (NativeException | RuntimeException e) {
            loop.close();
            throw e instanceof NativeException ? new UncheckedIOException((NativeException) e) : (RuntimeException) e;
        }
        server.thread = new Thread(loop::run, "evloop-" + server.port());
        server.thread.start();
        // Return only once the loop runs, so that close() right after start() finds it running
        // and hands its work to the loop instead of racing the thread's first turn.
        while (!loop.isRunning() && server.thread.isAlive()) {
            Thread.onSpinWait();
        }
        return server;
    }

    /** Starts a server on {@code loop}, which the caller runs (it may be running already). */
    public static TcpServer start(EventLoop loop, ServerConfig cfg, TcpHandler handler) {
        return loop.call(() -> {
            try {
                return new TcpServer(loop, false, cfg, handler);
            } catch (NativeException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    public EventLoop loop() {
        return loop;
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
        return new ServerStats(accepted, active, rejected, bytesIn, bytesOut, framesIn, pauses, acceptPauses);
    }

    /** The open connections, as data (asks the loop thread). */
    public List<ConnectionInfo> connections() {
        return loop.call(() -> {
            List<ConnectionInfo> out = new ArrayList<>(connections.size());
            for (Connection c : connections) {
                out.add(c.info());
            }
            return out;
        });
    }

    /** The open connections themselves, to send to (asks the loop thread). */
    public List<Connection> openConnections() {
        return loop.call(() -> new ArrayList<>(connections));
    }

    // ---- called by Listener and Connection on the loop thread ----------------------------

    void accepted(int fd, SockAddr peer) {
        if (closing || connections.size() >= maxClients) {
            rejected++;
            Native.get().closeQuietly(fd);
            return;
        }
        if (noDelay) {
            try {
                Sockets.get().setNoDelay(fd, true);
            } catch (NativeException e) {
                LOG.log(Level.DEBUG, "TCP_NODELAY failed on fd " + fd, e);
            }
        }
        Connection c = new Connection(this, fd, peer);
        connections.add(c);
        accepted++;
        active = connections.size();
        c.start();
    }

    void connectionClosed(Connection c, DisconnectCause cause) {
        connections.remove(c);
        active = connections.size();
        try {
            handler.onDisconnect(c, cause);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "onDisconnect threw for " + c, t);
        }
        if (closing && connections.isEmpty()) {
            drained.complete(null);
        }
    }

    void countIn(long n) {
        bytesIn += n;
    }

    void countOut(long n) {
        bytesOut += n;
    }

    void countFrame() {
        framesIn++;
    }

    void countPause() {
        pauses++;
    }

    void countAcceptPause() {
        acceptPauses++;
    }

    // ---- stopping ------------------------------------------------------------------------

    /** Waits until a server with a loop of its own has stopped; returns at once for one on a caller's loop. */
    public void join() throws InterruptedException {
        if (thread != null) {
            thread.join();
        }
    }

    /**
     * Stops the server: closes the listener first (the port is free for an immediate re-bind),
     * lets every connection flush its output within the close timeout, resets the rest, and
     * stops and closes the loop if the server owns it. Idempotent; returns when all fds are
     * released. Called on the loop thread (from a handler), it cannot wait for flushing, so
     * connections with output still queued are reset.
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
        if (loop.inLoop() || !loop.isRunning()) {
            shutdown(true);
        } else {
            loop.execute(() -> shutdown(false));
            awaitDrained();
        }
        if (ownsLoop) {
            loop.close();
            if (thread != null && thread != Thread.currentThread()) {
                try {
                    thread.join(TimeUnit.NANOSECONDS.toMillis(closeTimeoutNanos) + 5000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private void shutdown(boolean now) {
        closing = true;
        listener.close();
        for (Connection c : new ArrayList<>(connections)) {
            if (now) {
                c.abortNow(DisconnectCause.SERVER_STOP);
            } else {
                c.closeGracefully(DisconnectCause.SERVER_STOP);
            }
        }
        if (connections.isEmpty()) {
            drained.complete(null);
        }
    }

    private void awaitDrained() {
        try {
            drained.get(TimeUnit.NANOSECONDS.toMillis(closeTimeoutNanos) + 5000, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.log(Level.WARNING, "server on " + localAddress + " did not drain in time");
        } catch (Exception e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "TcpServer[" + localAddress + ", active=" + active + "]";
    }
}
