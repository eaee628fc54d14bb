package evloop.tcp;

import evloop.EventLoop;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * One connection as data, for the REPL and logs.
 *
 * @param fd             the fd number it had
 * @param peer           the peer's address ({@code InetSocketAddress} or {@code UnixAddress})
 * @param outbound       true if this process opened it (a client's), false if a server accepted it
 * @param bytesIn        bytes read
 * @param bytesOut       bytes written
 * @param framesIn       frames delivered to the handler
 * @param bufferedIn     bytes of an incomplete frame held for the next read
 * @param queuedOut      bytes waiting to be written
 * @param outputBackedUp queued output is above the high watermark, so reading is paused for it
 * @param readingPaused  the application paused reading ({@link Connection#pauseReading()})
 * @param state          "open", "closing" or "closed"
 * @param idleTimeoutNanos  its idle timeout, 0 for none
 * @param readTimeoutNanos  its read timeout, 0 for none
 * @param writeTimeoutNanos its write timeout, 0 for none
 * @param peerCredentials   on a Unix socket, the peer process's pid, uid and gid (SO_PEERCRED);
 *                          null on TCP
 */
public record ConnectionInfo(int fd, SocketAddress peer, boolean outbound, long bytesIn, long bytesOut, long framesIn,
                             int bufferedIn, long queuedOut, boolean outputBackedUp, boolean readingPaused,
                             String state, long idleTimeoutNanos, long readTimeoutNanos, long writeTimeoutNanos,
                             PeerCredentials peerCredentials) {
    /** {@code c} as data now; loop thread. */
    static ConnectionInfo of(Connection c) {
        Timeouts t = c.timeouts;
        byte state = c.state;
        return new ConnectionInfo(c.fd(), c.peer(), c.isOutbound(), c.bytesIn, c.bytesOut, c.framesIn, c.partialLength,
            c.out == null ? 0 : c.out.size(), c.backedUp, c.readingPaused,
            state == Connection.OPEN ? "open" : state == Connection.CLOSING ? "closing" : "closed",
            t == null ? 0 : t.idleNanos(), t == null ? 0 : t.readNanos(), t == null ? 0 : t.writeNanos(),
            c.peerCredentials());
    }

    /**
     * @param loop a loop
     * @return every connection on it, of any server or client, as data (asks the loop thread)
     */
    public static List<ConnectionInfo> on(EventLoop loop) {
        if (loop.isClosed()) {
            return List.of();
        }
        LoopResources r = LoopResources.of(loop);
        return loop.call(() -> {
            List<ConnectionInfo> out = new ArrayList<>();
            for (Connection c : r.connections(null)) {
                out.add(c.info());
            }
            return out;
        });
    }
}
