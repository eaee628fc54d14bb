package evloop.tcp;

import evloop.EventLoop;
import evloop.net.Fd;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A server's share of one event loop: the connections that live on it, the read buffer and
 * chunk pool they use (loop-thread-only, so never shared between loops), its listener if it
 * accepts, and its counters. A server on one loop has one shard; on a group, one per loop.
 */
final class Shard {
    private static final System.Logger LOG = System.getLogger(TcpServer.class.getName());
    private static final int READ_SIZE = 64 * 1024;

    final TcpServer server;
    final EventLoop loop;
    final ReadBuffer readBuffer;
    final OutputQueue.Pool pool = new OutputQueue.Pool(32 * 1024, 256);
    /** Connections open on this loop or being handed to it: what least-loaded balancing reads. */
    final AtomicInteger load = new AtomicInteger();
    private final Set<Connection> connections = new HashSet<>();
    final CompletableFuture<Void> drained = new CompletableFuture<>();
    Listener listener;
    private boolean closing;

    // Written on this shard's loop thread only; summed by TcpServer.stats() from anywhere.
    volatile long accepted;
    volatile long rejected;
    volatile long bytesIn;
    volatile long bytesOut;
    volatile long framesIn;
    volatile long pauses;
    volatile long acceptPauses;

    Shard(TcpServer server, EventLoop loop) {
        Preload.reactor();
        this.server = server;
        this.loop = loop;
        this.readBuffer = new ReadBuffer(server.framing.maxFrameLength() + READ_SIZE);
    }

    /** A connection this shard's listener accepted: keep it or hand it to the least-loaded shard. */
    void accepted(int cfd, SockAddr peer) {
        Fd fd = Fd.own(cfd);
        if (closing || !server.admit()) {
            rejected++;
            fd.close();
            return;
        }
        Shard target = server.leastLoaded(this);
        target.load.incrementAndGet();
        // The peer is read out of the reused SockAddr now; onLoop adopts at once when the target
        // is this loop, and hands the adoption over otherwise.
        boolean v4 = peer.isIpv4();
        int ip = peer.ipv4();
        int port = peer.port();
        InetSocketAddress v6 = v4 ? null : peer.decode();
        if (!target.onLoop(() -> target.adopt(fd, v4, ip, port, v6))) {
            target.load.decrementAndGet();
            server.released();
            fd.close();
        }
    }

    /** Starts serving {@code fd} on this shard's loop (its thread). */
    void adopt(Fd fd, boolean v4, int ip, int port, InetSocketAddress v6) {
        if (closing) {
            load.decrementAndGet();
            server.released();
            fd.close();
            checkDrained();
            return;
        }
        if (server.noDelay) {
            try {
                Sockets.get().setNoDelay(fd.fd(), true);
            } catch (NativeException e) {
                LOG.log(Level.DEBUG, "TCP_NODELAY failed on fd " + fd, e);
            }
        }
        Connection c = new Connection(this, fd, v4, ip, port, v6);
        connections.add(c);
        accepted++;
        c.start();
    }

    void connectionClosed(Connection c, DisconnectCause cause) {
        connections.remove(c);
        load.decrementAndGet();
        server.released();
        try {
            server.handler().onDisconnect(c, cause);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "onDisconnect threw for " + c, t);
        }
        checkDrained();
    }

    /** Drained once closing, with no connection left and none still being handed to this loop. */
    private void checkDrained() {
        if (closing && connections.isEmpty() && load.get() == 0) {
            drained.complete(null);
        }
    }

    /**
     * Closes the listener, then every connection: gracefully, or at once with {@code now}. A
     * loop held by its pause gate cannot flush, so its connections are reset at once too.
     */
    void shutdown(boolean now) {
        now |= loop.isHeld();
        closing = true;
        if (listener != null) {
            listener.close();
        }
        for (Connection c : new ArrayList<>(connections)) {
            if (now) {
                c.abortNow(DisconnectCause.SERVER_STOP);
            } else {
                c.closeGracefully(DisconnectCause.SERVER_STOP);
            }
        }
        checkDrained();
    }

    /** Runs {@code r} now on this loop's thread, or hands it to the loop; false once the loop is closed. */
    boolean onLoop(Runnable r) {
        if (loop.inLoop()) {
            r.run();
            return true;
        }
        try {
            loop.execute(r);
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    List<Connection> connections() {
        return new ArrayList<>(connections);
    }
}
