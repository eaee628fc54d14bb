package evloop.tcp;

import evloop.EventLoop;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What every connection on one loop shares, whichever server or client it belongs to: the read
 * buffer (a connection uses it only while its own read is delivered, and the loop runs one
 * connection at a time) and the pool of output chunks. A thousand client connections on a loop
 * thus cost one read buffer, not a thousand. Found by loop; used on the loop thread only.
 */
final class LoopResources {
    private static final Map<EventLoop, LoopResources> ALL = new WeakHashMap<>();
    /** Room for one read after the longest partial frame. */
    static final int READ_SIZE = 64 * 1024;

    final OutputQueue.Pool pool = new OutputQueue.Pool(32 * 1024, 256);
    /** Every server's and client's share of this loop, so the loop's connections can be listed. */
    final Set<Shard> shards = ConcurrentHashMap.newKeySet();
    private ReadBuffer readBuffer;

    private LoopResources() {}

    static LoopResources of(EventLoop loop) {
        synchronized (ALL) {
            return ALL.computeIfAbsent(loop, l -> new LoopResources());
        }
    }

    /** The read buffer, grown if a frame of {@code maxFrame} bytes plus a read would not fit. */
    ReadBuffer readBuffer(int maxFrame) {
        ReadBuffer rb = readBuffer;
        if (rb == null || rb.buf.capacity() < maxFrame + READ_SIZE) {
            rb = new ReadBuffer(maxFrame + READ_SIZE);
            readBuffer = rb;
        }
        return rb;
    }

    /** The buffer the read being delivered uses (a frame sent back from it needs no copy); may be null. */
    ReadBuffer current() {
        return readBuffer;
    }
}
