package evloop.tcp;

import evloop.EventLoop;
import evloop.LoopHook;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What every connection on one loop shares, whichever server or client it belongs to: the read
 * buffer (a connection uses it only while its own read is delivered, and the loop runs one
 * connection at a time), the pool of output chunks, and the {@link Reader} and {@link Writer}
 * that are every connection's table entries, with the connections by fd for them to find. A
 * thousand client connections on a loop thus cost one read buffer, not a thousand, and an idle
 * connection no handler objects. Found by loop; used on the loop thread only.
 */
final class LoopResources {
    private static final Map<EventLoop, LoopResources> ALL = new WeakHashMap<>();
    /** Room for one read after the longest partial frame. */
    static final int READ_SIZE = 64 * 1024;

    final OutputQueue.Pool pool = new OutputQueue.Pool(32 * 1024, 256);
    final Reader reader = new Reader(this);
    final Writer writer = new Writer(this);
    final TextFrames text = new TextFrames();
    /** The connections on this loop, by fd number: the tables' fd, mapped to its connection. */
    private Connection[] byFd = new Connection[64];
    /** Every server's and client's share of this loop, until it drains. */
    final Set<Shard> shards = ConcurrentHashMap.newKeySet();
    private ReadBuffer readBuffer;

    private LoopResources() {}

    static LoopResources of(EventLoop loop) {
        synchronized (ALL) {
            return ALL.computeIfAbsent(loop, l -> {
                LoopResources r = new LoopResources();
                l.addHook(r.closer);
                return r;
            });
        }
    }

    /**
     * The loop closes: its listeners, connections and connects in flight close their own fds
     * now (the loop never closes what it did not open), whichever server or client owns them.
     */
    private final LoopHook closer = new LoopHook() {
        @Override
        public void onClose(EventLoop loop) {
            for (Shard s : shards) {
                s.closeWithLoop();
            }
        }
    };

    /** The read buffer, grown if a frame of {@code maxFrame} bytes plus a read would not fit. */
    ReadBuffer readBuffer(int maxFrame) {
        ReadBuffer rb = readBuffer;
        if (rb == null || rb.buf.capacity() < maxFrame + READ_SIZE) {
            rb = new ReadBuffer(maxFrame + READ_SIZE);
            readBuffer = rb;
        }
        return rb;
    }

    void attach(Connection c) {
        int fd = c.fd();
        if (fd >= byFd.length) {
            byFd = java.util.Arrays.copyOf(byFd, Math.max(fd + 1, byFd.length * 2));
        }
        byFd[fd] = c;
    }

    void detach(Connection c) {
        int fd = c.fd();
        if (fd < byFd.length && byFd[fd] == c) {
            byFd[fd] = null;
        }
    }

    /** The connection on {@code fd}, or null. */
    Connection connection(int fd) {
        return fd >= 0 && fd < byFd.length ? byFd[fd] : null;
    }

    /** The connections of {@code shard} (every connection with null), in fd order. */
    java.util.List<Connection> connections(Shard shard) {
        java.util.List<Connection> out = new java.util.ArrayList<>();
        for (Connection c : byFd) {
            if (c != null && (shard == null || c.shard == shard)) {
                out.add(c);
            }
        }
        return out;
    }

    /** The buffer the read being delivered uses (a frame sent back from it needs no copy); may be null. */
    ReadBuffer current() {
        return readBuffer;
    }
}
