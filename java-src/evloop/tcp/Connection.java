package evloop.tcp;

import evloop.EventLoop;
import evloop.ScheduledTask;
import evloop.net.Fd;
import evloop.net.UnixAddress;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.lang.System.Logger.Level;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One connection, accepted by a {@link TcpServer} or opened by a {@link TcpClient}, over TCP or
 * a Unix socket: the same callbacks, framing, output queue, backpressure and timeouts either way.
 * Input is delivered frame by frame from a read buffer the loop shares ({@code Inbound}); output
 * waits in pooled direct chunks with EPOLLOUT armed only meanwhile ({@code Outbound}). The
 * connection owns its {@link Fd} and is the only one to close it; whatever goes wrong ends this
 * connection alone, and {@link TcpHandler#onDisconnect} hears why exactly once.
 *
 * <p>{@link #send}, {@link #close}, {@link #abort}, {@link #pauseReading}, {@link #resumeReading}
 * and {@link #setTimeouts} are safe from any thread: off the loop thread they are handed to it
 * through {@code execute}, keeping each thread's order. The rest runs on the loop thread.
 */
public final class Connection implements Sender {
    private static final System.Logger LOG = System.getLogger(Connection.class.getName());

    enum State { OPEN, CLOSING, CLOSED }

    private final Shard shard;
    private final Endpoint endpoint;
    private final EventLoop loop;
    private final Fd fd;
    /** The number fd had: this connection's name in logs and maps, even after the fd is closed. */
    private final int number;
    private final boolean outbound;
    /** The peer, built on first use; an IPv4 peer is kept as two ints until then (c10k memory). */
    private SocketAddress peer;
    private final int peerIpv4;
    private final int peerPort;
    final Inbound in;
    final Outbound out;
    /** Null unless a timeout is set: most connections carry none. */
    Timeouts timeouts;
    private PeerCredentials credentials;

    private State state = State.OPEN;
    private DisconnectCause closeCause;
    private ScheduledTask closeTimer;
    private boolean readerArmed;
    private boolean readingPaused;
    /** The peer's EOF arrived and the handler kept the connection open for output: no more reading. */
    private boolean peerClosed;
    private volatile Object attachment;

    Connection(Shard shard, Fd fd, boolean outbound, int ipv4, int port, SocketAddress peer) {
        this.shard = shard;
        this.endpoint = shard.endpoint;
        this.loop = shard.loop;
        this.fd = fd;
        this.number = fd.fd();
        this.outbound = outbound;
        this.peerIpv4 = ipv4;
        this.peerPort = port;
        this.peer = peer;
        this.in = new Inbound(this, shard);
        this.out = new Outbound(this, shard);
    }

    /**
     * @return the number of this connection's fd, for logs and maps; it stays the same after
     *     close, when the kernel may already have given the number to another fd
     */
    public int fd() {
        return number;
    }

    /** @return the peer: an {@code InetSocketAddress}, or a {@link UnixAddress} for a Unix socket */
    public SocketAddress peer() {
        SocketAddress p = peer;
        if (p == null) {
            p = SockAddr.ipv4Address(peerIpv4, peerPort);
            peer = p;
        }
        return p;
    }

    /** @return true for a connection this process opened ({@link TcpClient}), false for an accepted one */
    public boolean isOutbound() {
        return outbound;
    }

    /** @return the server that accepted this connection, or null for a client's */
    public TcpServer server() {
        return endpoint.server;
    }

    /** @return the client that opened this connection, or null for a server's */
    public TcpClient client() {
        return endpoint.client;
    }

    /** @return the loop this connection lives on */
    public EventLoop loop() {
        return loop;
    }

    /**
     * @return the peer process's pid, uid and gid on a Unix socket (SO_PEERCRED), null on TCP
     *     or once closed
     */
    public PeerCredentials peerCredentials() {
        PeerCredentials c = credentials;
        if (c == null && peer() instanceof UnixAddress && fd.isOpen()) {
            try {
                int[] p = Sockets.get().peerCredentials(fd.fd());
                c = new PeerCredentials(p[0], p[1], p[2]);
                credentials = c;
            } catch (NativeException e) {
                return null;
            }
        }
        return c;
    }

    /** @return whatever the application keeps with this connection (a session, a parser state) */
    public Object attachment() {
        return attachment;
    }

    /** @param value kept with this connection for the application */
    public void attach(Object value) {
        this.attachment = value;
    }

    /** @return true until the connection starts closing; racy off the loop thread, as any such flag is */
    public boolean isOpen() {
        return state == State.OPEN;
    }

    /** @return false while queued output is above the high watermark (and reading is paused for it) */
    public boolean isWritable() {
        return !out.isBackedUp();
    }

    /** @return true once the peer's EOF arrived on a connection its handler kept open for output */
    public boolean isPeerClosed() {
        return peerClosed;
    }

    /** @return true while the application has paused reading ({@link #pauseReading()}) */
    public boolean isReadingPaused() {
        return readingPaused;
    }

    /**
     * Queues {@code data}'s remaining bytes; they are copied, the buffer is not changed.
     *
     * @param data the bytes to send
     * @return false once closing (nothing is sent)
     */
    @Override
    public boolean send(ByteBuffer data) {
        if (loop.inLoop()) {
            return sendOnLoop(data);
        }
        ByteBuffer copy = ByteBuffer.allocate(data.remaining());
        copy.put(data.duplicate()).flip();
        return shard.onLoop(() -> sendOnLoop(copy));
    }

    /**
     * Queues {@code data}. Sent from another thread it is not copied: do not change it afterwards.
     *
     * @param data the bytes to send
     * @return false once closing (nothing is sent)
     */
    @Override
    public boolean send(byte[] data) {
        ByteBuffer wrapped = ByteBuffer.wrap(data);
        return loop.inLoop() ? sendOnLoop(wrapped) : shard.onLoop(() -> sendOnLoop(wrapped));
    }

    /**
     * Stops reading, flushes queued output (within the close timeout), then closes. After the
     * peer's EOF ({@link TcpHandler#onPeerClosed}) the cause is PEER_CLOSED: the peer ended the
     * conversation, this only finished the answer.
     */
    public void close() {
        shard.onLoop(() -> closeGracefully(peerClosed ? DisconnectCause.PEER_CLOSED : DisconnectCause.LOCAL_CLOSE));
    }

    /** Closes at once with a reset (RST), dropping queued output. */
    public void abort() {
        shard.onLoop(() -> abortNow(DisconnectCause.LOCAL_CLOSE));
    }

    /**
     * Stops reading from the socket, so the peer's sends back up into its own buffers (TCP's
     * window pushes back). Frames already read in the current batch are still delivered.
     */
    public void pauseReading() {
        shard.onLoop(() -> {
            readingPaused = true;
            updateReading();
        });
    }

    /** Reading goes on after {@link #pauseReading()}. */
    public void resumeReading() {
        shard.onLoop(() -> {
            readingPaused = false;
            updateReading();
        });
    }

    /**
     * Sets this connection's timeouts (see {@link ConnectionConfig}), replacing those its server
     * or client gave it; zero turns one off. The timer starts over.
     *
     * @param idle no bytes either way for this long
     * @param read no complete frame for this long
     * @param write queued output made no progress for this long
     */
    public void setTimeouts(Duration idle, Duration read, Duration write) {
        long i = ConnectionConfig.checkDuration("idle", idle).toNanos();
        long r = ConnectionConfig.checkDuration("read", read).toNanos();
        long w = ConnectionConfig.checkDuration("write", write).toNanos();
        shard.onLoop(() -> {
            if (state == State.CLOSED) {
                return;
            }
            if (timeouts == null) {
                timeouts = new Timeouts(this, loop, i, r, w);
            } else {
                timeouts.set(i, r, w);
            }
        });
    }

    /** @return this connection as data; loop thread (see {@link TcpServer#connections()}) */
    public ConnectionInfo info() {
        Timeouts t = timeouts;
        return new ConnectionInfo(number, peer(), outbound, in.bytesIn, out.bytesOut, in.framesIn, in.buffered(),
            out.size(), out.isBackedUp(), readingPaused, state.name().toLowerCase(),
            t == null ? 0 : t.idleNanos(), t == null ? 0 : t.readNanos(), t == null ? 0 : t.writeNanos());
    }

    @Override
    public String toString() {
        return "Connection[fd=" + number + ", " + (outbound ? "to " : "from ") + peer() + ", " + state + "]";
    }

    // ---- loop thread ---------------------------------------------------------------------

    void start() {
        Settings s = shard.settings;
        if (s.idleNanos > 0 || s.readNanos > 0 || s.writeNanos > 0) {
            timeouts = new Timeouts(this, loop, s.idleNanos, s.readNanos, s.writeNanos);
        }
        try {
            updateReading();
        } catch (RuntimeException e) {
            internalFailure(e);
            return;
        }
        try {
            endpoint.handler().onConnect(this);
        } catch (Throwable t) {
            handlerFailed("onConnect", t);
        }
    }

    boolean isClosed() {
        return state == State.CLOSED;
    }

    boolean isReading() {
        return state == State.OPEN && readerArmed;
    }

    /** Puts the connection in the read table exactly while it should be read. */
    private void updateReading() {
        boolean want = state == State.OPEN && !peerClosed && !out.isBackedUp() && !readingPaused;
        if (want != readerArmed) {
            readerArmed = want;
            loop.onReadable(fd.fd(), want ? in : null);
        }
    }

    /** A failure inside the reactor itself (epoll_ctl refused, a framing bug): it ends this connection only. */
    void internalFailure(Throwable e) {
        LOG.log(Level.WARNING, "connection on fd " + number + " (peer " + peer() + ") failed; resetting it", e);
        abortNow(DisconnectCause.ERROR);
    }

    private boolean sendOnLoop(ByteBuffer data) {
        if (state != State.OPEN) {
            return false;
        }
        out.send(data, fd.fd());
        return true;
    }

    // What Inbound and Outbound report.

    void flushedWhileClosing() {
        finish(closeCause);
    }

    /** False if the connection stopped taking frames. */
    boolean deliverFrame(ByteBuffer frame) {
        try {
            endpoint.handler().onMessage(this, frame);
            return true;
        } catch (Throwable t) {
            handlerFailed("onMessage", t);
            return false;
        }
    }

    /** The peer's EOF: close (flushing), unless the handler keeps the connection open for output. */
    void peerClosed() {
        boolean keep;
        try {
            keep = endpoint.handler().onPeerClosed(this);
        } catch (Throwable t) {
            handlerFailed("onPeerClosed", t);
            return;
        }
        if (!keep) {
            closeGracefully(DisconnectCause.PEER_CLOSED);
            return;
        }
        // Out of the read table for good: a level-triggered fd at end of stream stays readable.
        peerClosed = true;
        updateReading();
    }

    void writabilityChanged(boolean writable) {
        updateReading();
        try {
            endpoint.handler().onWritabilityChanged(this, writable);
        } catch (Throwable t) {
            handlerFailed("onWritabilityChanged", t);
        }
    }

    TcpHandler handler() {
        return endpoint.handler();
    }

    void handlerFailed(String callback, Throwable t) {
        LOG.log(Level.WARNING, callback + " threw for fd " + number + " (peer " + peer() + "); closing it", t);
        closeGracefully(DisconnectCause.HANDLER_ERROR);
    }

    void ioFailed(NativeException e) {
        if (!e.isConnectionReset()) {
            LOG.log(Level.WARNING, "I/O error on fd " + number + " (peer " + peer() + ")", e);
        }
        finish(e.isConnectionReset() ? DisconnectCause.RESET : DisconnectCause.ERROR);
    }

    /** Stops reading; closes now if nothing is queued, else once the queue drains or the timeout passes. */
    void closeGracefully(DisconnectCause cause) {
        if (state != State.OPEN) {
            return;
        }
        state = State.CLOSING;
        closeCause = cause;
        // Out of the read table also after EOF: a level-triggered fd at end of stream stays
        // readable, and left in the table it would wake every turn until the output drained.
        updateReading();
        if (out.isEmpty()) {
            finish(cause);
            return;
        }
        closeTimer = loop.schedule(endpoint.closeTimeoutNanos, TimeUnit.NANOSECONDS,
            () -> abortNow(DisconnectCause.CLOSE_TIMEOUT));
        if (!out.isCorked()) {
            out.flush(fd.fd());
        }
    }

    void abortNow(DisconnectCause cause) {
        if (state == State.CLOSED) {
            return;
        }
        try {
            Sockets.get().setLingerAbort(fd.fd());
        } catch (NativeException e) {
            LOG.log(Level.DEBUG, "SO_LINGER before abort failed on fd " + number, e);
        }
        finish(cause);
    }

    /** Closes at once without a reset (FIN), dropping queued output: for a loop that can no longer flush. */
    void closeNow(DisconnectCause cause) {
        finish(cause);
    }

    /** The one way out: leaves the tables, closes the fd (once), and tells the handler why. */
    private void finish(DisconnectCause cause) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        readerArmed = false;
        if (closeTimer != null) {
            closeTimer.cancel();
        }
        if (timeouts != null) {
            timeouts.cancel();
        }
        try {
            fd.closeOn(loop);
        } finally {
            out.release();
            in.clear();
            shard.connectionClosed(this, cause);
        }
    }
}
