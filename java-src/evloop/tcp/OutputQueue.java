package evloop.tcp;

import evloop.sys.Native;
import evloop.sys.NativeException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Bytes queued for one connection, in direct chunks borrowed from the loop's pool, so they go
 * to the kernel without another copy; a chunk goes back to the pool once sent. Created the first
 * time a connection's output has to wait. Loop thread only.
 */
final class OutputQueue {
    private final Pool pool;
    private final ArrayDeque<Chunk> chunks = new ArrayDeque<>(4);
    private long size;

    OutputQueue(Pool pool) {
        this.pool = pool;
    }

    long size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Copies {@code src}'s remaining bytes in, leaving its position unchanged. */
    void append(ByteBuffer src) {
        int pos = src.position();
        int remaining = src.remaining();
        while (remaining > 0) {
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
        Chunk c;
        while ((c = chunks.peekFirst()) != null) {
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
        Chunk c;
        while ((c = chunks.pollFirst()) != null) {
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
