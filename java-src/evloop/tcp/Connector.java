package evloop.tcp;

import evloop.FdHandler;
import evloop.Interest;
import evloop.ScheduledTask;
import evloop.net.Fd;
import evloop.sys.Errno;
import evloop.sys.NativeException;
import evloop.sys.Sockets;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * One connection being opened: a non-blocking {@code connect}, EINPROGRESS, the fd in the write
 * table until it is writable, then {@code SO_ERROR}: zero makes a {@link Connection}, anything
 * else is the failure, named by errno (or the next address of the name is tried). Names are
 * resolved on a resolver thread, never on the loop; IP literals and Unix paths need none. One
 * timer bounds resolving and connecting together. The connector owns the fd until it hands it
 * to the connection, and closes it itself on failure or timeout. Loop thread, but for the
 * resolving.
 */
final class Connector implements FdHandler {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    /** Blocking getaddrinfo calls happen here; daemon threads, so a hung lookup never holds the JVM. */
    private static final ExecutorService RESOLVER = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "evloop-resolver");
        t.setDaemon(true);
        return t;
    });

    private final Shard shard;
    private final ClientConfig cfg;
    private final String target;
    final CompletableFuture<Connection> result = new CompletableFuture<>();
    private List<InetAddress> candidates;
    private int next;
    private Fd fd;
    private SocketAddress peer;
    private ScheduledTask deadline;

    private Connector(Shard shard, ClientConfig cfg) {
        this.shard = shard;
        this.cfg = cfg;
        this.target = cfg.target();
    }

    /** Starts connecting as {@code cfg} says; the future completes on the loop thread. */
    static CompletableFuture<Connection> start(Shard shard, ClientConfig cfg) {
        Connector c = new Connector(shard, cfg);
        if (!shard.onLoop(c::begin)) {
            c.result.completeExceptionally(new IOException("connect(" + c.target + "): the event loop is closed"));
        }
        return c.result;
    }

    private void begin() {
        long ms = cfg.connectTimeout.toMillis();
        deadline = shard.loop.schedule(ms, TimeUnit.MILLISECONDS, () -> fail(new NativeException("connect", target,
            Errno.ETIMEDOUT, "no connection within " + ms + " ms")));
        if (cfg.unixPath != null) {
            attemptUnix();
        } else if (IPV4.matcher(cfg.host).matches() || cfg.host.indexOf(':') >= 0) {
            resolved(cfg.host);   // a literal: parsing it looks nothing up
        } else {
            RESOLVER.execute(() -> resolved(cfg.host));
        }
    }

    /** On the resolver thread (or the loop's, for literals): addresses of the host, then back to the loop. */
    private void resolved(String host) {
        List<InetAddress> addrs;
        try {
            addrs = List.of(InetAddress.getAllByName(host.startsWith("[") ? host.substring(1, host.length() - 1) : host));
        } catch (UnknownHostException e) {
            UnknownHostException u = new UnknownHostException("connect(" + target + "): cannot resolve " + host);
            u.initCause(e);
            shard.onLoop(() -> fail(u));
            return;
        }
        shard.onLoop(() -> {
            candidates = addrs;
            attemptNext(null);
        });
    }

    private void attemptUnix() {
        try {
            fd = Fd.own(Sockets.get().unixStream());
            peer = cfg.unixPath;
            connecting(Sockets.get().connectUnix(fd.fd(), cfg.unixPath.path()));
        } catch (NativeException | RuntimeException e) {
            fail(e);
        }
    }

    /** Tries the next address; {@code last} is why the previous one failed. */
    private void attemptNext(Exception last) {
        if (result.isDone()) {
            return;
        }
        if (next >= candidates.size()) {
            fail(last);
            return;
        }
        InetSocketAddress addr = new InetSocketAddress(candidates.get(next++), cfg.port);
        try {
            Sockets sockets = Sockets.get();
            fd = Fd.own(sockets.stream(addr));
            peer = addr;
            if (cfg.localHost != null) {
                sockets.bind(fd.fd(), new InetSocketAddress(InetAddress.getByName(cfg.localHost), cfg.localPort));
            }
            if (cfg.noDelay) {
                sockets.setNoDelay(fd.fd(), true);
            }
            connecting(sockets.connect(fd.fd(), addr));
        } catch (NativeException | UnknownHostException | RuntimeException e) {
            closeFd();
            attemptNext(e);
        }
    }

    private void connecting(boolean connectedNow) {
        if (connectedNow) {
            established();
        } else {
            shard.loop.onWritable(fd.fd(), this);
        }
    }

    /** Writable: the connect finished, one way or the other. */
    @Override
    public void handle(int f, Set<Interest> events) throws NativeException {
        shard.loop.remove(f);
        int errno = Sockets.get().socketError(f);
        if (errno == 0) {
            established();
            return;
        }
        NativeException e = Sockets.get().connectError(errno, peer instanceof InetSocketAddress
            ? ((InetSocketAddress) peer).getAddress().getHostAddress() + ":" + cfg.port : target);
        closeFd();
        if (candidates != null) {
            attemptNext(e);
        } else {
            fail(e);
        }
    }

    @Override
    public void failed(int f, Throwable error) {
        fail(error);
    }

    /** Hands the fd to a new connection: from here on the connection owns it. */
    private void established() {
        deadline.cancel();
        Fd owned = fd;
        fd = null;
        Connection c = new Connection(shard, owned, true, 0, 0, peer);
        if (!shard.connected(c)) {
            owned.close();
            result.completeExceptionally(new IOException("connect(" + target + "): the client is closing"));
            return;
        }
        result.complete(c);
    }

    private void fail(Throwable e) {
        closeFd();
        if (result.isDone()) {
            return;
        }
        if (deadline != null) {
            deadline.cancel();
        }
        shard.failed++;
        result.completeExceptionally(e);
    }

    private void closeFd() {
        if (fd != null) {
            if (!shard.loop.isClosed()) {
                shard.loop.remove(fd.fd());
            }
            fd.close();
            fd = null;
        }
    }
}
