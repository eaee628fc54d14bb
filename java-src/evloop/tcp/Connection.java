package evloop.tcp;

import evloop.EventLoop;
import evloop.net.Fd;
import evloop.net.UnixAddress;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import java.lang.System.Logger.Level;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * One connection, accepted by a {@link TcpServer} or opened by a {@link TcpClient}, over TCP or
 * a Unix socket: the same callbacks, framing, output queue, backpressure and timeouts either way.
 * The connection owns its {@link Fd} and is the only one to close it; whatever goes wrong ends
 * this connection alone, and {@link TcpHandler#onDisconnect} hears why exactly once.
 *
 * <p>An idle connection is this object and its {@code Fd}, nothing more (a c10k crowd is
 * mostly idle): the read and write paths are the loop's {@code Reader} and {@code Writer},
 * shared by every connection on it and registered as their table entries; a partial frame,
 * an output queue and timeouts are allocated only when the connection needs them.
 *
 * <p>{@link #send}, {@link #close}, {@link #abort}, {@link #pauseReading}, {@link #resumeReading}
 * and {@link #setTimeouts} are safe from any thread: off the loop thread they are handed to it
 * through {@code execute}, keeping each thread's order. The rest runs on the loop thread; how
 * a connection ends, whatever ends it, is {@code Closing}'s.
 */
public final class Connection implements Sender {
    private static final System.Logger LOG = System.getLogger(Connection.class.getName());

    static final byte OPEN = 0;
    static final byte CLOSING = 1;
    static final byte CLOSED = 2;

    final Shard shard;
    final Fd fd;
    /** The number fd had: this connection's name in logs and maps, even after the fd is closed. */
    private final int number;
    private final boolean outbound;
    /** The peer, built on first use; an IPv4 peer is kept as two ints until then (c10k memory). */
    private SocketAddress peer;
    private final int peerIpv4;
    private final int peerPort;
    private volatile Object attachment;
    /** The handler this connection keeps ({@link #keepHandler}); null: its server's or client's. */
    private TcpHandler ownHandler;

    // Loop-thread state, read and written by the loop's Reader and Writer.
    byte state = OPEN;
    boolean readerArmed;
    boolean readingPaused;
    /** The peer's EOF arrived: no more reading, and close() ends it as PEER_CLOSED. */
    private volatile boolean peerClosed;   // written on the loop; read anywhere (channel-info)
    boolean writerArmed;
    boolean backedUp;
    long bytesIn;
    long bytesOut;
    long framesIn;
    /** An incomplete frame kept between reads; null when there is none (most of the time). */
    byte[] partial;
    int partialLength;
    /** Output waiting for the socket; created the first time output has to wait. */
    OutputQueue out;
    /** Null unless a timeout is set. */
    Timeouts timeouts;
    /** While closing with output queued: why, and the timer that resets it if the flush takes too long. */
    Closing closing;

    Connection(Shard shard, Fd fd, boolean outbound, int ipv4, int port, SocketAddress peer) {
        this.shard = shard;
        this.fd = fd;
        this.number = fd.fd();
        this.outbound = outbound;
        this.peerIpv4 = ipv4;
        this.peerPort = port;
        this.peer = peer;
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
        return shard.endpoint.server;
    }

    /** @return the client that opened this connection, or null for a server's */
    public TcpClient client() {
        return shard.endpoint.client;
    }

    /** @return the loop this connection lives on */
    public EventLoop loop() {
        return shard.loop;
    }

    /**
     * @return the peer process's pid, uid and gid on a Unix socket (SO_PEERCRED), null on TCP or
     *     once closed; on the loop thread (elsewhere the fd may close, and its number pass to
     *     another peer, meanwhile: {@link #info()} carries them as data)
     */
    public PeerCredentials peerCredentials() {
        return peer() instanceof UnixAddress ? PeerCredentials.of(fd) : null;
    }

    /** @return whatever the application keeps with this connection (a session, a parser state) */
    public Object attachment() {
        return attachment;
    }

    /** @param value kept with this connection for the application */
    public void attach(Object value) {
        this.attachment = value;
    }

    /**
     * Keeps {@code handler} as this connection's own: every later callback of this connection,
     * {@link TcpHandler#onDisconnect} included, goes to it, whatever handler its server or client
     * is given meanwhile ({@link TcpServer#setHandler}). For a handler that keeps state per
     * connection which only it can end (evloop.async's channels). Null goes back to the server's
     * or client's handler. On the loop thread, from a callback.
     *
     * @param handler the handler this connection keeps, or null
     */
    public void keepHandler(TcpHandler handler) {
        this.ownHandler = handler;
    }

    /** @return true until the connection starts closing; racy off the loop thread, as any such flag is */
    public boolean isOpen() {
        return state == OPEN;
    }

    /** @return false while queued output is above the high watermark (and reading is paused for it) */
    public boolean isWritable() {
        return !backedUp;
    }

    /** @return true once the peer's EOF arrived (from {@link TcpHandler#onPeerClosed} on): nothing more will be read */
    public boolean isPeerClosed() {
        return peerClosed;
    }

    /** @return true while the application has paused reading ({@link #pauseReading()}) */
    public boolean isReadingPaused() {
        return readingPaused;
    }

    /**
     * Queues {@code data}'s remaining bytes; the buffer is not changed. They are copied, except
     * the frame being delivered to this connection's handler, which goes out straight from the
     * read buffer (a zero-copy echo).
     *
     * @param data the bytes to send
     * @return false once closing (nothing is sent)
     */
    @Override
    public boolean send(ByteBuffer data) {
        if (shard.loop.inLoop()) {
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
        return shard.loop.inLoop() ? sendOnLoop(wrapped) : shard.onLoop(() -> sendOnLoop(wrapped));
    }

    /**
     * Stops reading, flushes queued output (within the close timeout), then closes. After the
     * peer's EOF ({@link TcpHandler#onPeerClosed}) the cause is PEER_CLOSED: the peer ended the
     * conversation, this only finished the answer.
     */
    public void close() {
        shard.onLoop(() -> Closing.gracefully(this,
            peerClosed ? DisconnectCause.PEER_CLOSED : DisconnectCause.LOCAL_CLOSE));
    }

    /** Closes at once with a reset (RST), dropping queued output. */
    public void abort() {
        shard.onLoop(() -> Closing.abort(this, DisconnectCause.LOCAL_CLOSE));
    }

    /**
     * Ends this connection as a callback that threw would: logs {@code t} with {@code what}, the
     * fd and the peer, then closes, flushing what is queued, with cause HANDLER_ERROR (or keeps
     * the cause it is already closing with). For the handler's work that failed outside its
     * callbacks: on another thread, or in a task on the loop.
     *
     * @param what what failed, for the log (such as "channel handler")
     * @param t what it threw
     */
    public void fail(String what, Throwable t) {
        if (!shard.onLoop(() -> handlerFailed(what, t))) {
            LOG.log(Level.WARNING, what + " threw for fd " + number + " (peer " + peer() + "), whose loop is closed", t);
        }
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
     * or client gave it; zero turns one off, null keeps it as it is. Every clock starts over.
     *
     * @param idle no bytes either way for this long
     * @param read no complete frame for this long
     * @param write queued output made no progress for this long
     */
    public void setTimeouts(Duration idle, Duration read, Duration write) {
        long i = idle == null ? -1 : ConnectionConfig.checkDuration("idle", idle).toNanos();
        long r = read == null ? -1 : ConnectionConfig.checkDuration("read", read).toNanos();
        long w = write == null ? -1 : ConnectionConfig.checkDuration("write", write).toNanos();
        shard.onLoop(() -> Timeouts.change(this, i, r, w));
    }

    /** @return this connection as data; loop thread (see {@link TcpServer#connections()}) */
    public ConnectionInfo info() {
        return ConnectionInfo.of(this);
    }

    @Override
    public String toString() {
        return "Connection[fd=" + number + ", " + (outbound ? "to " : "from ") + peer() + ", "
            + (state == OPEN ? "OPEN" : state == CLOSING ? "CLOSING" : "CLOSED") + "]";
    }

    // ---- loop thread ---------------------------------------------------------------------

    void start() {
        Settings s = shard.settings;
        if (s.idleNanos > 0 || s.readNanos > 0 || s.writeNanos > 0) {
            timeouts = new Timeouts(this, shard.loop, s.idleNanos, s.readNanos, s.writeNanos);
        }
        try {
            shard.resources.attach(this);
            updateReading();
        } catch (RuntimeException e) {
            internalFailure(e);
            return;
        }
        try {
            handler().onConnect(this);
        } catch (Throwable t) {
            handlerFailed("onConnect", t);
        }
    }

    TcpHandler handler() {
        TcpHandler own = ownHandler;
        return own != null ? own : shard.endpoint.handler();
    }

    /**
     * Puts the connection in the read table exactly while it should be read, and stops the
     * idle and read clocks while it is out of it on this side's account (paused, backed up).
     */
    void updateReading() {
        boolean want = state == OPEN && !peerClosed && !backedUp && !readingPaused;
        if (want != readerArmed) {
            readerArmed = want;
            shard.loop.onReadable(fd.fd(), want ? shard.resources.reader : null);
            pausedTimeouts();
        }
    }

    /** Tells the timeouts whether this side holds reading back; on reading's transitions only. */
    void pausedTimeouts() {
        if (timeouts != null && state == OPEN && !peerClosed) {
            timeouts.readingPaused(!readerArmed);
        }
    }

    /** A failure inside the reactor itself (epoll_ctl refused, a framing bug): it ends this connection only. */
    void internalFailure(Throwable e) {
        LOG.log(Level.WARNING, "connection on fd " + number + " (peer " + peer() + ") failed; resetting it", e);
        Closing.abort(this, DisconnectCause.ERROR);
    }

    private boolean sendOnLoop(ByteBuffer data) {
        if (state != OPEN) {
            return false;
        }
        shard.resources.writer.send(this, data);
        return true;
    }

    /** The peer's EOF: close (flushing), unless the handler keeps the connection open for output. */
    void peerClosed() {
        // Set first: a close() from inside onPeerClosed is the end of the answer (PEER_CLOSED).
        peerClosed = true;
        boolean keep;
        try {
            keep = handler().onPeerClosed(this);
        } catch (Throwable t) {
            handlerFailed("onPeerClosed", t);
            return;
        }
        if (!keep) {
            Closing.gracefully(this, DisconnectCause.PEER_CLOSED);
            return;
        }
        // Out of the read table for good: a level-triggered fd at end of stream stays readable.
        updateReading();
    }

    void handlerFailed(String callback, Throwable t) {
        LOG.log(Level.WARNING, callback + " threw for fd " + number + " (peer " + peer() + "); closing it", t);
        Closing.gracefully(this, DisconnectCause.HANDLER_ERROR);
    }

    void ioFailed(NativeException e) {
        if (!e.isConnectionReset()) {
            LOG.log(Level.WARNING, "I/O error on fd " + number + " (peer " + peer() + ")", e);
        }
        Closing.finish(this, e.isConnectionReset() ? DisconnectCause.RESET : DisconnectCause.ERROR);
    }
}
