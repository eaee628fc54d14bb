package evloop.tcp;

import evloop.EventLoop;
import evloop.net.Fd;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A server's or a client's share of one event loop: the connections that live on it, its
 * listener if it accepts, and its counters. A server on one loop has one shard; on a group,
 * one per loop; a client has one. The read buffer and output chunks come from the loop's
 * {@link LoopResources}, shared with every other shard on the loop.
 */
final class Shard {
    private static final System.Logger LOG = System.getLogger(Shard.class.getName());

    final Endpoint endpoint;
    final Settings settings;
    final EventLoop loop;
    final LoopResources resources;
    /** Connections open on this loop or being handed to it: what least-loaded balancing reads. */
    final AtomicInteger load = new AtomicInteger();
    final CompletableFuture<Void> drained = new CompletableFuture<>();
    Listener listener;
    /** Connects in flight (a client's); loop thread only. */
    private final java.util.Set<Connector> connecting = new java.util.HashSet<>();
    /** For connections accepted on a Unix socket: the listener's address, as their peer. */
    SocketAddress unixPeer;
    private boolean closing;

    // Written on this shard's loop thread only; summed by the server's or client's stats() from anywhere.
    volatile long accepted;
    volatile long rejected;
    volatile long failed;
    volatile long bytesIn;
    volatile long bytesOut;
    volatile long framesIn;
    volatile long pauses;
    volatile long acceptPauses;

    Shard(Endpoint endpoint, EventLoop loop) {
        Preload.reactor();
        this.endpoint = endpoint;
        this.settings = endpoint.settings;
        this.loop = loop;
        this.resources = LoopResources.of(loop);
        resources.shards.add(this);
        drained.whenComplete((v, e) -> resources.shards.remove(this));
    }

    /** A connection this shard's listener accepted: keep it or hand it to the least-loaded shard. */
    void accepted(int cfd, SockAddr peer) {
        Fd fd = Fd.own(cfd);
        if (closing || !endpoint.admit()) {
            rejected++;
            fd.close();
            return;
        }
        Shard target = endpoint.server.leastLoaded(this);
        target.load.incrementAndGet();
        // The peer is read out of the reused SockAddr now; onLoop adopts at once when the target
        // is this loop, and hands the adoption over otherwise.
        boolean v4 = peer.isIpv4();
        int ip = peer.ipv4();
        int port = peer.port();
        SocketAddress other = unixPeer != null ? unixPeer : v4 ? null : peer.decode();
        if (target.loop.inLoop()) {
            // No task to hand over: one loop (the usual case) adopts without allocating one.
            target.adopt(fd, v4 && unixPeer == null, ip, port, other);
        } else if (!target.onLoop(() -> target.adopt(fd, v4 && unixPeer == null, ip, port, other))) {
            target.load.decrementAndGet();
            endpoint.released();
            fd.close();
        }
    }

    /** Starts serving an accepted {@code fd} on this shard's loop (its thread). */
    void adopt(Fd fd, boolean v4, int ip, int port, SocketAddress peer) {
        if (closing) {
            load.decrementAndGet();
            endpoint.released();
            fd.close();
            checkDrained();
            return;
        }
        if (settings.noDelay && (v4 || peer instanceof InetSocketAddress)) {
            try {
                Sockets.get().setNoDelay(fd.fd(), true);
            } catch (NativeException e) {
                LOG.log(Level.DEBUG, "TCP_NODELAY failed on fd " + fd.fd(), e);
            }
        }
        accepted++;
        start(new Connection(this, fd, false, ip, port, v4 ? null : peer));
    }

    /** An outbound connection that just connected; on the loop thread. False if this client is closing. */
    boolean connected(Connection c) {
        if (closing || !endpoint.admit()) {
            return false;
        }
        load.incrementAndGet();
        accepted++;
        start(c);
        return true;
    }

    private void start(Connection c) {
        c.start();
    }

    void connectionClosed(Connection c, DisconnectCause cause) {
        load.decrementAndGet();
        endpoint.released();
        try {
            c.handler().onDisconnect(c, cause);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "onDisconnect threw for " + c, t);
        }
        if (endpoint.client != null) {
            endpoint.client.connectionEnded();
        }
        checkDrained();
    }

    /** A connect starts; false (and it must fail) if this shard is closing. */
    boolean connecting(Connector c) {
        if (closing) {
            return false;
        }
        connecting.add(c);
        return true;
    }

    /** A connect ended, connected or not. */
    void connectDone(Connector c) {
        connecting.remove(c);
        checkDrained();
    }

    /** Drained once closing, with no connection left, none being handed to this loop, none connecting. */
    private void checkDrained() {
        if (closing && load.get() == 0 && connecting.isEmpty()) {
            drained.complete(null);
        }
    }

    boolean isClosing() {
        return closing;
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
        DisconnectCause cause = cause();
        for (Connection c : connections()) {
            if (now) {
                Closing.abort(c, cause);
            } else {
                Closing.gracefully(c, cause);
            }
        }
        failConnects();
        checkDrained();
    }

    private DisconnectCause cause() {
        return endpoint.server != null ? DisconnectCause.SERVER_STOP : DisconnectCause.LOCAL_CLOSE;
    }

    private void failConnects() {
        for (Connector c : new java.util.ArrayList<>(connecting)) {
            c.cancel("the " + (endpoint.server != null ? "server" : "client") + " was closed");
        }
    }

    /**
     * The loop is closing (its last owner runs this): listener, connections and connects in
     * flight close their fds now, without a reset where there is nothing left to flush.
     */
    void closeWithLoop() {
        closing = true;
        if (listener != null) {
            listener.close();
        }
        for (Connection c : connections()) {
            Closing.finish(c, cause());
        }
        failConnects();
        drained.complete(null);
    }

    /**
     * Shuts down at once from a thread that is not the loop's, and never beside it: only the
     * loop's owner tears connections down, so none is finished twice. Through call() if the
     * loop answers (or nobody runs it: this thread then owns it for the call). Otherwise (a
     * handler blocks it, it is closing, or this is another loop's thread) the listener closes
     * now, so the port is free, and the rest is the loop's: a task it runs once the handler
     * returns, or, if it is closing, its close ({@link #closeWithLoop}).
     */
    void shutdownAnywhere() {
        if (!loop.isClosed()) {
            try {
                loop.call(() -> {
                    shutdown(true);
                    return null;
                });
                return;
            } catch (RejectedExecutionException | IllegalStateException notAnswering) {
                // Handed over below.
            }
        }
        if (listener != null) {
            listener.close();
        }
        if (!onLoop(() -> shutdown(true)) && loop.isClosed()) {
            // Its close ran closeWithLoop, which completed this, unless the shard came too late.
            drained.complete(null);
        }
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
        return resources.connections(this);
    }

    /** {@code f} of each connection on this shard; on the loop thread. */
    <T> List<T> map(java.util.function.Function<Connection, T> f) {
        List<T> out = new java.util.ArrayList<>();
        for (Connection c : connections()) {
            out.add(f.apply(c));
        }
        return out;
    }

    /**
     * {@link #map} without waiting: answered now on this loop's thread, queued for it
     * otherwise; none once the loop is closing. On a loop nobody runs it answers when the loop
     * next runs (or closes).
     */
    <T> CompletableFuture<List<T>> mapAsync(java.util.function.Function<Connection, T> f) {
        if (loop.inLoop()) {
            return CompletableFuture.completedFuture(map(f));
        }
        try {
            return loop.submit(() -> map(f));
        } catch (RejectedExecutionException closing) {
            return CompletableFuture.completedFuture(List.of());
        }
    }
}
