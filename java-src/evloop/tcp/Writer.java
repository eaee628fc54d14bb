package evloop.tcp;

import evloop.sys.Native;
import evloop.sys.NativeException;
import java.nio.ByteBuffer;

/**
 * The output side of every connection on one loop, and their write-table entry (a connection
 * is in the write table only while output waits, so EPOLLOUT is armed only then). It finds the
 * connection by fd, like the {@link Reader}.
 *
 * <p>Output sent while a connection's own read batch is delivered is corked and written once
 * after the batch, so an echo of many pipelined lines costs one {@code send}. A frame sent back
 * from the read buffer is not even copied: the Writer remembers it as a range of that buffer
 * (one range per loop suffices: one connection delivers at a time), extends the range with each
 * following frame contiguous with it, and sends straight from the read buffer at the end of the
 * batch. Only what the socket does not take is copied, into the connection's
 * {@link OutputQueue}, before the buffer is reused. Above the high watermark a connection stops
 * being read and reports itself not writable; at the low one both come back. Loop thread only.
 */
final class Writer extends ConnectionEntry {
    /** The connection whose read batch is being delivered now, or null. */
    private Connection corked;
    /** The zero-copy range: frames of the read buffer that {@code deferredFor} sent back. */
    private Connection deferredFor;
    private ByteBuffer deferredBuf;
    private long deferredAddress;
    private int deferredStart;
    private int deferredEnd;

    Writer(LoopResources resources) {
        super(resources);
    }

    @Override
    void ready(Connection c, int fd) {
        flush(c);
    }

    void cork(Connection c) {
        corked = c;
    }

    void uncork(Connection c) {
        corked = null;
    }

    /** True if {@code c} has anything to write, deferred or queued. */
    boolean hasOutput(Connection c) {
        return deferredFor == c || (c.out != null && !c.out.isEmpty());
    }

    /** Queues {@code data}'s remaining bytes (without moving its position) and, unless corked, writes. */
    void send(Connection c, ByteBuffer data) {
        ReadBuffer rb = resources.current();
        if (corked == c && rb != null && data == rb.frame && (c.out == null || c.out.isEmpty())) {
            int from = data.position();
            int to = data.limit();
            if (deferredFor == null) {
                deferredFor = c;
                deferredBuf = rb.buf;
                deferredAddress = rb.address;
                deferredStart = from;
                deferredEnd = to;
                return;
            }
            if (deferredFor == c && deferredBuf == rb.buf && from == deferredEnd) {
                deferredEnd = to;
                return;
            }
        }
        materialize(c);   // what was deferred goes first, to keep the order
        queue(c).append(data);
        if (corked != c) {
            flush(c);
        }
    }

    void flushUnlessCorked(Connection c) {
        if (corked != c) {
            flush(c);
        }
    }

    /** Writes what the socket takes, then sets write interest and backpressure from what is left. */
    void flush(Connection c) {
        if (c.state == Connection.CLOSED) {
            return;
        }
        int fd = c.fd.fd();
        long written = 0;
        try {
            if (deferredFor == c) {
                long n = Native.get().send(fd, deferredAddress + deferredStart, deferredEnd - deferredStart);
                if (n > 0) {
                    written = n;
                    deferredStart += (int) n;
                }
                materialize(c);
            }
            if (c.out != null && !c.out.isEmpty()) {
                written += c.out.writeTo(Native.get(), fd);
            }
        } catch (NativeException e) {
            forget(c);
            c.ioFailed(e);
            return;
        }
        if (written > 0) {
            c.bytesOut += written;
            c.shard.bytesOut += written;
            if (c.timeouts != null) {
                c.timeouts.bytesOut();
            }
        }
        long queued = c.out == null ? 0 : c.out.size();
        boolean pending = queued > 0;
        if (pending != c.writerArmed) {
            c.writerArmed = pending;
            c.shard.loop.onWritable(fd, pending ? this : null);
            if (pending && c.timeouts != null) {
                c.timeouts.outputQueued();
            }
        }
        Settings s = c.shard.settings;
        if (c.state == Connection.OPEN) {
            if (!c.backedUp && queued > s.highWatermark) {
                c.backedUp = true;
                c.shard.pauses++;
                writabilityChanged(c, false);
            } else if (c.backedUp && queued <= s.lowWatermark) {
                c.backedUp = false;
                writabilityChanged(c, true);
            }
        } else if (!pending) {
            Closing.flushed(c);
        }
    }

    /** Copies what is left of {@code c}'s deferred range into its queue: the read buffer is about to be reused. */
    private void materialize(Connection c) {
        if (deferredFor != c) {
            return;
        }
        if (deferredStart < deferredEnd) {
            ByteBuffer range = deferredBuf.duplicate();
            range.limit(deferredEnd).position(deferredStart);
            queue(c).append(range);
        }
        forget(c);
    }

    /** Drops {@code c}'s deferred range, if it has one (it closed). */
    void forget(Connection c) {
        if (deferredFor == c) {
            deferredFor = null;
            deferredBuf = null;
        }
    }

    private OutputQueue queue(Connection c) {
        OutputQueue q = c.out;
        if (q == null) {
            q = new OutputQueue(resources.pool);
            c.out = q;
        }
        return q;
    }

    private static void writabilityChanged(Connection c, boolean writable) {
        c.updateReading();
        try {
            c.handler().onWritabilityChanged(c, writable);
        } catch (Throwable t) {
            c.handlerFailed("onWritabilityChanged", t);
        }
    }
}
