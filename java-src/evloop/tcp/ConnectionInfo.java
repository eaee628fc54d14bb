package evloop.tcp;

import java.net.InetSocketAddress;

/**
 * One connection as data, for the REPL and logs.
 *
 * @param bufferedIn  bytes of an incomplete frame held for the next read
 * @param queuedOut   bytes waiting to be written
 * @param readPaused  reading is paused for backpressure (queued output above the high watermark)
 */
public record ConnectionInfo(int fd, InetSocketAddress peer, long bytesIn, long bytesOut, long framesIn,
                             int bufferedIn, long queuedOut, boolean readPaused, String state) {}
