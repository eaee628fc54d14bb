package evloop.tcp;

import evloop.EventLoop;
import evloop.FdHandler;
import evloop.Interest;
import evloop.ScheduledTask;
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
 * One accepted TCP connection: its fd, peer, partial input, queued output and counters.
 *
 * <p>Reads go into the server's shared read buffer and are split into frames there; only an
 * incomplete frame is copied out, into a per-connection array, until the rest arrives. Output
 * sent while the connection's own input is being handled is queued ("corked") and written once
 * after the batch, so an echo of many pipelined lines costs one {@code send}. EPOLLOUT is armed
 * only while output is queued. Above the server's high watermark the connection stops being
 * read; below the low one it resumes, so a peer that never reads costs bounded memory.
 *
 * <p>{@link #send}, {@link #close} and {@link #abort} are safe from any thread: off the loop
 * thread they are handed to it through {@code execute}, preserving each thread's order.
 * Everything else here runs on the loop thread.
 */
public final class Connection implements Sender {
    private static final System.Logger LOG = System.getLogger(Connection.class.getName());

    private enum State { OPEN, CLOSING, CLOSED }

    private final TcpServer server;
    private final Shard shard;
    private final EventLoop loop;
    private final Native nat = Native.get();
    private final int fd;
    /** The peer, built on first use; an IPv4 peer is kept as two ints until then (c10k memory). */
    private InetSocketAddress peer;
    private final int peerIpv4;
    private final int peerPort;
    private final OutputQueue out;
    private final FdHandler reader = this::onReadable;
    private final FdHandler writer = this::onWritable;

    private State state = State.OPEN;
    private DisconnectCause closeCause;
    private ScheduledTask closeTimer;
    private final PartialFrame partial = new PartialFrame();
    private boolean corked;
    private boolean readPaused;
    private boolean writerArmed;
    private long bytesIn;
    private long bytesOut;
    private long framesIn;
    private volatile Object attachment;

    Connection(Shard shard, int fd, boolean v4, int ipv4, int port, InetSocketAddress v6) {
        this.server = shard.server;
        this.shard = shard;
        this.loop = shard.loop;
        this.fd = fd;
        this.peerIpv4 = ipv4;
        this.peerPort = port;
        this.peer = v4 ? null : v6;
        this.out = new OutputQueue(shard.pool);
    }

    public int fd() {
        return fd;
    }

    public InetSocketAddress peer() {
        InetSocketAddress p = peer;
        if (p == null) {
            p = SockAddr.ipv4Address(peerIpv4, peerPort);
            peer = p;
        }
        return p;
    }

    public TcpServer server() {
        return server;
    }

    /** Whatever the application keeps with this connection (a session, a parser state). */
    public Object attachment() {
        return attachment;
    }

    public void attach(Object value) {
        this.attachment = value;
    }

    /** True until the connection starts closing. Racy off the loop thread, as any such flag is. */
    public boolean isOpen() {
        return state == State.OPEN;
    }

    /** False while reading is paused because queued output is above the high watermark. */
    public boolean isWritable() {
        return !readPaused;
    }

    /** Queues {@code data}'s remaining bytes (copied; the buffer is not changed). Returns false once closing. */
    @Override
    public boolean send(ByteBuffer data) {
        if (loop.inLoop()) {
            return sendOnLoop(data);
        }
        ByteBuffer copy = ByteBuffer.allocate(data.remaining());
        copy.put(data.duplicate()).flip();
        return shard.onLoop(() -> sendOnLoop(copy));
    }

    /** Queues {@code data} (not copied when sent from another thread: do not change it afterwards). */
    @Override
    public boolean send(byte[] data) {
        ByteBuffer wrapped = ByteBuffer.wrap(data);
        return loop.inLoop() ? sendOnLoop(wrapped) : shard.onLoop(() -> sendOnLoop(wrapped));
    }

    /** Stops reading, flushes queued output (within the server's close timeout), then closes. */
    public void close() {
        shard.onLoop(() -> closeGracefully(DisconnectCause.LOCAL_CLOSE));
    }

    /** Closes at once with a reset (RST), dropping queued output. */
    public void abort() {
        shard.onLoop(() -> abortNow(DisconnectCause.LOCAL_CLOSE));
    }

    /** This connection as data. Loop thread (see {@link TcpServer#connections()}). */
    public ConnectionInfo info() {
        return new ConnectionInfo(fd, peer(), bytesIn, bytesOut, framesIn, partial.length(), out.size(),
            readPaused, state.name().toLowerCase());
    }

    @Override
    public String toString() {
        return "Connection[fd=" + fd + ", peer=" + peer() + ", " + state + "]";
    }

    // ---- loop thread ---------------------------------------------------------------------

    void start() {
        try {
            loop.onReadable(fd, reader);
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

    /**
     * A failure inside the reactor itself (epoll_ctl refused, a framing bug): it ends this
     * connection here, so it never reaches the loop's default error handler, which would close
     * the fd behind this object's back.
     */
    private void internalFailure(RuntimeException e) {
        LOG.log(Level.WARNING, "connection on fd " + fd + " (peer " + peer() + ") failed; resetting it", e);
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

    private void onReadable(int fd, Set<Interest> events) {
        try {
            readRounds();
        } catch (RuntimeException e) {
            out.release();
            internalFailure(e);
        }
    }

    private void readRounds() {
        ReadBuffer rb = shard.readBuffer;
        ByteBuffer buf = rb.buf;
        // A few rounds at most, so one fast sender cannot starve the other connections.
        for (int round = 0; round < 4 && state == State.OPEN && !readPaused; round++) {
            buf.clear();
            partial.restoreInto(buf);
            int start = buf.position();
            long n;
            try {
                n = nat.read(fd, rb.address + start, buf.capacity() - start);
            } catch (NativeException e) {
                failed(e);
                return;
            }
            if (n == Native.WOULD_BLOCK) {
                break;
            }
            if (n == 0) {
                peerClosed();
                return;
            }
            bytesIn += n;
            shard.bytesIn += n;
            buf.limit(start + (int) n).position(0);
            corked = true;
            try {
                deliver(buf, rb.frame);
            } finally {
                corked = false;
            }
            partial.keep(buf, state == State.OPEN);
            flush();
            if (n < buf.capacity() - start) {
                break;
            }
        }
    }

    private void deliver(ByteBuffer buf, ByteBuffer frame) {
        Framing framing = server.framing;
        while (buf.hasRemaining() && state == State.OPEN) {
            int length;
            try {
                length = framing.frameLength(buf);
            } catch (FramingException e) {
                protocolError(e);
                return;
            }
            if (length == 0) {
                return;
            }
            int start = buf.position();
            buf.position(start + length);
            frame.clear().position(start).limit(start + length);
            framesIn++;
            shard.framesIn++;
            try {
                server.handler().onMessage(this, frame);
            } catch (Throwable t) {
                handlerFailed("onMessage", t);
                return;
            }
        }
    }


    private void onWritable(int fd, Set<Interest> events) {
        try {
            flush();
        } catch (RuntimeException e) {
            internalFailure(e);
        }
    }

    /** Writes what the socket takes, then sets write interest and backpressure from what is left. */
    private void flush() {
        if (state == State.CLOSED) {
            return;
        }
        if (!out.isEmpty()) {
            try {
                long n = out.writeTo(nat, fd);
                bytesOut += n;
                shard.bytesOut += n;
            } catch (NativeException e) {
                failed(e);
                return;
            }
        }
        boolean pending = !out.isEmpty();
        if (pending != writerArmed) {
            writerArmed = pending;
            loop.onWritable(fd, pending ? writer : null);
        }
        if (state == State.OPEN) {
            if (!readPaused && out.size() > server.highWatermark) {
                readPaused = true;
                loop.offReadable(fd);
                shard.pauses++;
                writabilityChanged(false);
            } else if (readPaused && out.size() <= server.lowWatermark) {
                readPaused = false;
                loop.onReadable(fd, reader);
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

    private void peerClosed() {
        partial.clear();
        closeGracefully(DisconnectCause.PEER_CLOSED);
    }

    private void protocolError(FramingException e) {
        try {
            server.handler().onProtocolError(this, e);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "onProtocolError failed for " + this, t);
        }
        closeGracefully(DisconnectCause.PROTOCOL_ERROR);
    }

    private void handlerFailed(String callback, Throwable t) {
        LOG.log(Level.WARNING, callback + " threw for fd " + fd + " (peer " + peer() + "); closing it", t);
        closeGracefully(DisconnectCause.HANDLER_ERROR);
    }

    private void failed(NativeException e) {
        if (!e.isConnectionReset()) {
            LOG.log(Level.WARNING, "I/O error on fd " + fd + " (peer " + peer() + ")", e);
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
        if (!readPaused) {
            // Also after EOF: a level-triggered fd at end of stream stays readable, and left in
            // the read table it would wake every turn until the output drained.
            loop.offReadable(fd);
        }
        if (out.isEmpty()) {
            finish(cause);
            return;
        }
        long timeout = server.closeTimeoutNanos;
        closeTimer = loop.schedule(timeout, TimeUnit.NANOSECONDS, () -> abortNow(DisconnectCause.CLOSE_TIMEOUT));
        if (!corked) {
            flush();
        }
    }

    void abortNow(DisconnectCause cause) {
        if (state == State.CLOSED) {
            return;
        }
        try {
            Sockets.get().setLingerAbort(fd);
        } catch (NativeException e) {
            LOG.log(Level.DEBUG, "SO_LINGER before abort failed on fd " + fd, e);
        }
        finish(cause);
    }

    private void finish(DisconnectCause cause) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        if (closeTimer != null) {
            closeTimer.cancel();
        }
        try {
            if (!loop.isClosed()) {
                loop.remove(fd);
            }
        } finally {
            nat.closeQuietly(fd);
            out.release();
            partial.clear();
            shard.connectionClosed(this, cause);
        }
    }
}
