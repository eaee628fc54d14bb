package evloop.tcp;

import java.net.InetSocketAddress;

/**
 * One connection as data, for the REPL and logs.
 *
 * @param fd            the fd number (-1 once closed)
 * @param peer          the peer's address
 * @param bytesIn       bytes read
 * @param bytesOut      bytes written
 * @param framesIn      frames delivered to the handler
 * @param bufferedIn    bytes of an incomplete frame held for the next read
 * @param queuedOut     bytes waiting to be written
 * @param outputBackedUp queued output is above the high watermark, so reading is paused for it
 * @param readingPaused the application paused reading ({@link Connection#pauseReading()})
 * @param state         "open", "closing" or "closed"
 */
public record ConnectionInfo(int fd, InetSocketAddress peer, long bytesIn, long bytesOut, long framesIn,
                             int bufferedIn, long queuedOut, boolean outputBackedUp, boolean readingPaused,
                             String state) {}
