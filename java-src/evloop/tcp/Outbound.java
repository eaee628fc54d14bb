package evloop.tcp;

import evloop.FdHandler;
import evloop.Interest;
import evloop.sys.Native;
import evloop.sys.NativeException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * A connection's output side: the {@link OutputQueue}, the write-table entry (there only while
 * output is queued, so EPOLLOUT is armed only then) and the watermarks. Output sent while the
 * connection's own read batch is delivered is corked and written once after it, so an echo of
 * many pipelined lines costs one {@code send}; a frame sent back from the read buffer is not
 * even copied. It is the connection's write-table entry itself. Loop thread only.
 */
final class Outbound implements FdHandler {
    private final Connection conn;
    private final Shard shard;
    private final Settings settings;
    private final OutputQueue out;
    private boolean corked;
    private boolean writerArmed;
    private boolean backedUp;
    long bytesOut;

    Outbound(Connection conn, Shard shard) {
        this.conn = conn;
        this.shard = shard;
        this.settings = shard.settings;
        this.out = new OutputQueue(shard.resources.pool);
    }

    @Override
    public void handle(int fd, Set<Interest> events) {
        try {
            flush(fd);
        } catch (Throwable e) {
            conn.internalFailure(e);
        }
    }

    /** The loop took the fd out of its tables because something escaped: end the connection. */
    @Override
    public void failed(int fd, Throwable error) {
        conn.abortNow(DisconnectCause.ERROR);
    }

    long size() {
        return out.size();
    }

    boolean isEmpty() {
        return out.isEmpty();
    }

    /** Above the high watermark (reading paused for it) until it falls to the low one. */
    boolean isBackedUp() {
        return backedUp;
    }

    void cork(boolean on) {
        corked = on;
    }

    boolean isCorked() {
        return corked;
    }

    /** Queues {@code data}'s remaining bytes and, unless corked, writes what the socket takes to {@code fd}. */
    void send(ByteBuffer data, int fd) {
        ReadBuffer rb = shard.resources.current();
        if (corked && rb != null && data == rb.frame) {
            out.defer(data, rb.buf, rb.address);
        } else {
            out.append(data);
        }
        if (!corked) {
            flush(fd);
        }
    }

    /** Writes what the socket takes, then sets write interest and backpressure from what is left. */
    void flush(int fd) {
        if (conn.isClosed()) {
            return;
        }
        if (!out.isEmpty()) {
            try {
                long n = out.writeTo(Native.get(), fd);
                if (n > 0) {
                    bytesOut += n;
                    shard.bytesOut += n;
                    Timeouts t = conn.timeouts;
                    if (t != null) {
                        t.bytesOut();
                    }
                }
            } catch (NativeException e) {
                conn.ioFailed(e);
                return;
            }
        }
        boolean pending = !out.isEmpty();
        if (pending != writerArmed) {
            writerArmed = pending;
            shard.loop.onWritable(fd, pending ? this : null);
            Timeouts t = conn.timeouts;
            if (pending && t != null) {
                t.outputQueued();
            }
        }
        if (conn.isOpen()) {
            if (!backedUp && out.size() > settings.highWatermark) {
                backedUp = true;
                shard.pauses++;
                conn.writabilityChanged(false);
            } else if (backedUp && out.size() <= settings.lowWatermark) {
                backedUp = false;
                conn.writabilityChanged(true);
            }
        } else if (!pending) {
            conn.flushedWhileClosing();
        }
    }

    /** Drops what is queued and gives the chunks back. */
    void release() {
        writerArmed = false;
        out.release();
    }
}
