package evloop.tcp;

import evloop.EventLoop;
import evloop.FdHandler;
import evloop.Interest;
import evloop.ScheduledTask;
import evloop.net.Fd;
import evloop.sys.Native;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One TCP connection: its fd, peer, partial input, queued output and counters.
 *
 * <p>Reads go into the shard's shared read buffer and are split into frames there; only an
 * incomplete frame is copied out, into a per-connection array, until the rest arrives. Output
 * sent while the connection's own input is being handled is queued ("corked") and written once
 * after the batch, so an echo of many pipelined lines costs one {@code send}. EPOLLOUT is armed
 * only while output is queued. Above the high watermark the connection stops being read; below
 * the low one it resumes, so a peer that never reads costs bounded memory. The application can
 * stop reading too ({@link #pauseReading()}), to push back on a fast peer.
 *
 * <p>The connection owns its {@link Fd} and is the only one to close it. Whatever goes wrong
 * (a handler or a framing that throws anything, a failed syscall) ends this connection alone,
 * and {@link TcpHandler#onDisconnect} hears why exactly once.
 *
 * <p>{@link #send}, {@link #close}, {@link #abort}, {@link #pauseReading} and
 * {@link #resumeReading} are safe from any thread: off the loop thread they are handed to it
 * through {@code execute}, preserving each thread's order. Everything else runs on the loop thread.
 */
public final class Connection implements Sender {
    private static final System.Logger LOG = System.getLogger(Connection.class.getName());

    private enum State { OPEN, CLOSING, CLOSED }

    private final TcpServer server;
    private final Shard shard;
    private final EventLoop loop;
    private final Native nat = Native.get();
    private final Fd fd;
    /** The number fd had: this connection's name in logs and maps, even after the fd is closed. */
    private final int number;
    /** The peer, built on first use; an IPv4 peer is kept as two ints until then (c10k memory). */
    private InetSocketAddress peer;
    private final int peerIpv4;
    private final int peerPort;
    private final OutputQueue out;
    private final Inbound in;
    private final FdHandler reader = new Io(false);
    private final FdHandler writer = new Io(true);

    private State state = State.OPEN;
    private DisconnectCause closeCause;
    private ScheduledTask closeTimer;
    private boolean corked;
    private boolean readerArmed;
    private boolean outputBackedUp;
    private boolean readingPaused;
    private boolean writerArmed;
    private long bytesOut;
    private volatile Object attachment;

    Connection(Shard shard, Fd fd, boolean v4, int ipv4, int port, InetSocketAddress v6) {
        this.server = shard.server;
        this.shard = shard;
        this.loop = shard.loop;
        this.fd = fd;
        this.number = fd.fd();
        this.peerIpv4 = ipv4;
        this.peerPort = port;
        this.peer = v4 ? null : v6;
        this.out = new OutputQueue(shard.pool);
        this.in = new Inbound(this, shard);
    }

    /**
     * @return the number of this connection's fd, for logs and maps; it stays the same after
     *     close, when the kernel may already have given the number to another fd
     */
    public int fd() {
        return number;
    }

    /** @return the peer's address */
    public InetSocketAddress peer() {
        InetSocketAddress p = peer;
        if (p == null) {
            p = SockAddr.ipv4Address(peerIpv4, peerPort);
            peer = p;
        }
        return p;
    }

    /** @return the server that accepted this connection */
    public TcpServer server() {
        return server;
    }

    /** @return the loop this connection lives on */
    public EventLoop loop() {
        return loop;
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
        return !outputBackedUp;
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

    /** Stops reading, flushes queued output (within the close timeout), then closes. */
    public void close() {
        shard.onLoop(() -> closeGracefully(DisconnectCause.LOCAL_CLOSE));
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

    /** @return this connection as data; loop thread (see {@link TcpServer#connections()}) */
    public ConnectionInfo info() {
        return new ConnectionInfo(number, peer(), in.bytesIn, bytesOut, in.framesIn, in.buffered(), out.size(),
            outputBackedUp, readingPaused, state.name().toLowerCase());
    }

    @Override
    public String toString() {
        return "Connection[fd=" + number + ", peer=" + peer() + ", " + state + "]";
    }

    // ---- loop thread ---------------------------------------------------------------------

    void start() {
        try {
            updateReading();
        } catch (RuntimeException e) {
            internalFailure(e);
            return;
        }
        try {
            server.handler().onConnect(this);
        } catch (Throwable t) {
            handlerFailed("onConnect", t);
        }
    }

    /** Puts the connection in the read table exactly while it should be read. */
    private void updateReading() {
        boolean want = state == State.OPEN && !outputBackedUp && !readingPaused;
        if (want != readerArmed) {
            readerArmed = want;
            loop.onReadable(fd.fd(), want ? reader : null);
        }
    }

    /** A failure inside the reactor itself (epoll_ctl refused, a framing bug): it ends this connection only. */
    private void internalFailure(Throwable e) {
        LOG.log(Level.WARNING, "connection on fd " + number + " (peer " + peer() + ") failed; resetting it", e);
        abortNow(DisconnectCause.ERROR);
    }

    private boolean sendOnLoop(ByteBuffer data) {
        if (state != State.OPEN) {
            return false;
        }
        ReadBuffer rb = shard.readBuffer;
        if (corked && data == rb.frame) {
            out.defer(data, rb.buf, rb.address);
        } else {
            out.append(data);
        }
        if (!corked) {
            flush();
        }
        return true;
    }

    /**
     * A table entry: the read side ({@code output} false) reads, the write side flushes. If
     * anything escapes it anyway, the loop removes the fd and tells it through {@link #failed}.
     */
    private final class Io implements FdHandler {
        private final boolean output;

        Io(boolean output) {
            this.output = output;
        }

        @Override
        public void handle(int f, Set<Interest> events) {
            try {
                if (output) {
                    flush();
                } else {
                    in.readRounds(fd.fd());
                }
            } catch (Throwable e) {
                internalFailure(e);
            }
        }

        @Override
        public void failed(int f, Throwable error) {
            abortNow(DisconnectCause.ERROR);
        }
    }

    /** True while this connection should go on reading. */
    boolean isReading() {
        return state == State.OPEN && readerArmed;
    }

    void cork(boolean on) {
        corked = on;
    }

    /** Hands one frame to the handler; false if the connection stopped taking frames. */
    boolean deliverFrame(ByteBuffer frame) {
        try {
            server.handler().onMessage(this, frame);
            return true;
        } catch (Throwable t) {
            handlerFailed("onMessage", t);
            return false;
        }
    }

    /** Writes what the socket takes, then sets write interest and backpressure from what is left. */
    void flush() {
        if (state == State.CLOSED) {
            return;
        }
        if (!out.isEmpty()) {
            try {
                long n = out.writeTo(nat, fd.fd());
                bytesOut += n;
                shard.bytesOut += n;
            } catch (NativeException e) {
                ioFailed(e);
                return;
            }
        }
        boolean pending = !out.isEmpty();
        if (pending != writerArmed) {
            writerArmed = pending;
            loop.onWritable(fd.fd(), pending ? writer : null);
        }
        if (state == State.OPEN) {
            if (!outputBackedUp && out.size() > server.highWatermark) {
                outputBackedUp = true;
                updateReading();
                shard.pauses++;
                writabilityChanged(false);
            } else if (outputBackedUp && out.size() <= server.lowWatermark) {
                outputBackedUp = false;
                updateReading();
                writabilityChanged(true);
            }
        } else if (!pending) {
            finish(closeCause);
        }
    }

    private void writabilityChanged(boolean writable) {
        try {
            server.handler().onWritabilityChanged(this, writable);
        } catch (Throwable t) {
            handlerFailed("onWritabilityChanged", t);
        }
    }

    void protocolError(FramingException e) {
        try {
            server.handler().onProtocolError(this, e);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "onProtocolError failed for " + this, t);
        }
        closeGracefully(DisconnectCause.PROTOCOL_ERROR);
    }

    private void handlerFailed(String callback, Throwable t) {
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
        closeTimer = loop.schedule(server.closeTimeoutNanos, TimeUnit.NANOSECONDS,
            () -> abortNow(DisconnectCause.CLOSE_TIMEOUT));
        if (!corked) {
            flush();
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

    /** The one way out: leaves the tables, closes the fd (once), and tells the handler why. */
    private void finish(DisconnectCause cause) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        readerArmed = false;
        writerArmed = false;
        if (closeTimer != null) {
            closeTimer.cancel();
        }
        try {
            if (!loop.isClosed()) {
                loop.remove(fd.fd());
            }
        } finally {
            fd.close();
            out.release();
            in.clear();
            shard.connectionClosed(this, cause);
        }
    }
}
