package evloop.tcp;

import evloop.sys.Native;
import evloop.sys.NativeException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Bytes queued for one connection, in direct chunks borrowed from the server's pool, so they go
 * to the kernel without another copy. An idle connection holds no chunk at all.
 *
 * <p>A frame sent back while its own read batch is being handled (an echo) is not copied at
 * all: the queue remembers it as a range of the server's read buffer ({@link #defer}), extends
 * the range with each following frame that is contiguous with it, and the flush at the end of
 * the batch sends straight from the read buffer. Only what the socket does not take is copied
 * into chunks, before the read buffer is reused. Loop thread only.
 */
final class OutputQueue {
    private final Pool pool;
    /** Created on first use: most connections of a c10k crowd never queue anything. */
    private ArrayDeque<Chunk> chunks;
    private long size;
    private ByteBuffer deferred;
    private long deferredAddress;
    private int deferredStart;
    private int deferredEnd;

    OutputQueue(Pool pool) {
        this.pool = pool;
    }

    long size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /**
     * Queues {@code view}'s remaining bytes as a range of {@code buffer} (at native address
     * {@code address}) without copying, if nothing else is queued before it; otherwise copies.
     * The caller flushes before {@code buffer} is reused.
     */
    void defer(ByteBuffer view, ByteBuffer buffer, long address) {
        int from = view.position();
        int to = view.limit();
        if (deferred == null && size == 0) {
            deferred = buffer;
            deferredAddress = address;
            deferredStart = from;
            deferredEnd = to;
            size = to - from;
        } else if (deferred == buffer && from == deferredEnd && (chunks == null || chunks.isEmpty())) {
            deferredEnd = to;
            size += to - from;
        } else {
            append(view);
        }
    }

    /** Copies the deferred range into chunks, so that what follows it queues behind it in order. */
    private void materialize() {
        ByteBuffer range = deferred.duplicate();
        range.limit(deferredEnd).position(deferredStart);
        size -= deferredEnd - deferredStart;
        deferred = null;
        append(range);
    }

    /** Copies {@code src}'s remaining bytes in, leaving its position unchanged. */
    void append(ByteBuffer src) {
        if (deferred != null) {
            materialize();
        }
        int pos = src.position();
        int remaining = src.remaining();
        while (remaining > 0) {
            if (chunks == null) {
                chunks = new ArrayDeque<>(4);
            }
            Chunk tail = chunks.peekLast();
            if (tail == null || !tail.buf.hasRemaining()) {
                tail = pool.take();
                chunks.addLast(tail);
            }
            int n = Math.min(remaining, tail.buf.remaining());
            tail.buf.put(tail.buf.position(), src, pos, n);
            tail.buf.position(tail.buf.position() + n);
            pos += n;
            remaining -= n;
            size += n;
        }
    }

    /** Sends as much as the socket takes, stopping at EAGAIN with the rest queued; returns the bytes written. */
    long writeTo(Native nat, int fd) throws NativeException {
        long total = 0;
        if (deferred != null) {
            long n = nat.send(fd, deferredAddress + deferredStart, deferredEnd - deferredStart);
            if (n > 0) {
                deferredStart += (int) n;
                size -= n;
                total = n;
            }
            if (deferredStart < deferredEnd) {
                materialize();
                return total;
            }
            deferred = null;
        }
        Chunk c;
        while (chunks != null && (c = chunks.peekFirst()) != null) {
            long n = nat.send(fd, c.address + c.sent, c.buf.position() - c.sent);
            if (n == Native.WOULD_BLOCK) {
                break;
            }
            c.sent += (int) n;
            total += n;
            size -= n;
            if (c.sent < c.buf.position()) {
                break;
            }
            pool.give(chunks.pollFirst());
        }
        return total;
    }

    /** Gives every chunk back to the pool, dropping what was queued. */
    void release() {
        deferred = null;
        Chunk c;
        while (chunks != null && (c = chunks.pollFirst()) != null) {
            pool.give(c);
        }
        size = 0;
    }

    /** A direct buffer and its address; bytes between {@code sent} and the position are pending. */
    static final class Chunk {
        final ByteBuffer buf;
        final long address;
        int sent;

        Chunk(int size) {
            buf = Native.allocate(size);
            address = Native.address(buf);
        }

        void reset() {
            buf.clear();
            sent = 0;
        }
    }

    /** Free chunks of one server; keeps at most {@code maxIdle} so a burst's memory is returned after it. */
    static final class Pool {
        private final int chunkSize;
        private final int maxIdle;
        private final ArrayDeque<Chunk> free = new ArrayDeque<>();

        Pool(int chunkSize, int maxIdle) {
            this.chunkSize = chunkSize;
            this.maxIdle = maxIdle;
        }

        Chunk take() {
            Chunk c = free.pollFirst();
            return c != null ? c : new Chunk(chunkSize);
        }

        void give(Chunk c) {
            if (free.size() < maxIdle) {
                c.reset();
                free.addFirst(c);
            }
        }
    }
}
