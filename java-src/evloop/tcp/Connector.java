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
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * One connection being opened: a non-blocking {@code connect}, EINPROGRESS, the fd in the write
 * table until it is writable, then {@code SO_ERROR}: zero makes a {@link Connection}, anything
 * else is the failure, named by errno (or the next address of the name is tried).
 *
 * <p>The connect timeout bounds the whole: resolving, then every address of the name in turn.
 * Each address gets an equal share of the time left (what remains divided by the addresses
 * left, the last one all that remains), so one that drops SYNs cannot use up the time of the
 * others, and one that fails fast leaves its share to those after it. A Unix socket whose
 * listener's backlog is full refuses at once with EAGAIN where TCP would wait in the kernel:
 * the connector then retries, from 1 ms backing off to 50 ms, until the connect timeout.
 *
 * <p>Every name is resolved on a resolver thread, never on the loop's: even what looks like a
 * literal, since a string such as {@code 999.1.1.1} or {@code host:80} makes the JDK query DNS.
 * One timer bounds resolving and connecting together. The connector owns the fd until it hands
 * it to the connection, and closes it itself on failure, timeout, or when its client or its
 * loop closes (it is registered with its shard for that), or when its caller gives up on the
 * future (cancels it, or times it out). Loop thread, but for resolving.
 */
final class Connector implements FdHandler {
    /**
     * Blocking getaddrinfo calls happen here: a few daemon threads, so a hung lookup never holds
     * the JVM and a burst of connects cannot start a thread each.
     */
    private static final ExecutorService RESOLVER = resolver();
    private static final long MAX_RETRY_MILLIS = 50;
    private static final InetAddress ANY_IPV4 = wildcard(4);
    private static final InetAddress ANY_IPV6 = wildcard(16);

    /** How names become addresses: {@link InetAddress#getAllByName}, or a test's stand-in. */
    @FunctionalInterface
    interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    private final Shard shard;
    private final ClientConfig cfg;
    private final String target;
    final CompletableFuture<Connection> result = new CompletableFuture<>();
    private List<InetAddress> candidates;
    private InetAddress local;
    private int next;
    private Fd fd;
    private SocketAddress peer;
    /** When the connect timeout ends, in System.nanoTime() terms. */
    private long deadlineNanos;
    /** The connect timeout, or (while a TCP address other than the last is tried) that address's share of it. */
    private ScheduledTask timer;
    private boolean timerIsShare;
    /** The next try of a Unix connect refused with EAGAIN (a full backlog), and how long it waits. */
    private ScheduledTask retry;
    private long retryMillis;
    /** The most telling failure so far: a connect error beats a bind error. */
    private Exception lastError;
    /** The attempt let go of its fd, its timer and its place among the shard's connects; loop thread. */
    private boolean released;

    private Connector(Shard shard, ClientConfig cfg) {
        this.shard = shard;
        this.cfg = cfg;
        this.target = cfg.target();
    }

    private static InetAddress wildcard(int length) {
        try {
            return InetAddress.getByAddress(new byte[length]);   // 0.0.0.0 or ::, no lookup
        } catch (UnknownHostException impossible) {
            throw new AssertionError(impossible);
        }
    }

    private static ExecutorService resolver() {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "evloop-resolver");
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /** Starts connecting as {@code cfg} says; the future completes on the loop thread. */
    static CompletableFuture<Connection> start(Shard shard, ClientConfig cfg) {
        Connector c = new Connector(shard, cfg);
        // A caller that stops waiting (cancel, orTimeout, an interrupted get that cancels)
        // completes the future itself: the attempt is then aborted on the loop, so its fd and
        // timer go now rather than at the connect timeout, and its client can drain. When the
        // connector completes the future, it has released everything already: a no-op.
        c.result.whenComplete((conn, e) -> {
            if (e != null) {
                shard.onLoop(c::release);   // a closed loop released it in closeWithLoop
            }
        });
        if (!shard.onLoop(c::begin)) {
            c.result.completeExceptionally(new IOException("connect(" + c.target + "): the event loop is closed"));
        }
        return c.result;
    }

    private void begin() {
        if (gaveUp()) {
            return;   // given up before it started: nothing was opened
        }
        if (!shard.connecting(this)) {
            fail(new IOException("connect(" + target + "): the client is closed"));
            return;
        }
        long nanos = cfg.connectTimeout.toNanos();
        deadlineNanos = System.nanoTime() + nanos;
        timer = shard.loop.schedule(nanos, TimeUnit.NANOSECONDS, this::timedOut);
        if (cfg.unixPath != null) {
            attemptUnix();
        } else {
            RESOLVER.execute(this::resolve);
        }
    }

    /** On the resolver thread: the host's addresses (and the local one's), then back to the loop. */
    private void resolve() {
        List<InetAddress> addrs = null;
        InetAddress bindTo = null;
        String unresolved = null;
        Exception cause = null;
        try {
            addrs = List.of(cfg.resolver.resolve(unbracket(cfg.host)));
            if (cfg.localHost != null) {
                unresolved = "local address " + cfg.localHost;
                bindTo = InetAddress.getByName(unbracket(cfg.localHost));
            }
            unresolved = null;
        } catch (UnknownHostException | RuntimeException e) {
            unresolved = unresolved != null ? unresolved : cfg.host;
            cause = e;
        }
        Runnable next;
        if (unresolved == null) {
            List<InetAddress> found = addrs;
            InetAddress localFound = bindTo;
            next = () -> {
                candidates = found;
                local = localFound;
                attemptNext();
            };
        } else {
            UnknownHostException u = new UnknownHostException("connect(" + target + "): cannot resolve " + unresolved);
            u.initCause(cause);
            next = () -> fail(u);
        }
        if (!shard.onLoop(next)) {
            // The loop closed while we resolved: nothing was opened yet, so only the future is left.
            result.completeExceptionally(new IOException("connect(" + target + "): the event loop is closed"));
        }
    }

    /** "[::1]" is the IPv6 literal ::1; anything else is passed as written, for the JDK to judge. */
    private static String unbracket(String host) {
        return host.length() > 2 && host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private void attemptUnix() {
        try {
            fd = Fd.own(Sockets.get().unixStream());
        } catch (NativeException | RuntimeException e) {
            fail(e);
            return;
        }
        peer = cfg.unixPath;
        connectUnix();
    }

    /** connect(2) on the Unix socket; a full backlog (EAGAIN) is tried again on the same socket, which stays unconnected. */
    private void connectUnix() {
        retry = null;
        if (gaveUp()) {
            return;
        }
        try {
            connecting(Sockets.get().connectUnix(fd.fd(), cfg.unixPath.path()));
        } catch (NativeException e) {
            if (e.errno() != Errno.EAGAIN) {
                fail(e);
                return;
            }
            lastError = e;
            retryMillis = retryMillis == 0 ? 1 : Math.min(2 * retryMillis, MAX_RETRY_MILLIS);
            retry = shard.loop.schedule(retryMillis, TimeUnit.MILLISECONDS, this::connectUnix);
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    /** Tries the next address; with none left, fails with the most telling error so far. */
    private void attemptNext() {
        if (gaveUp()) {
            return;
        }
        if (next >= candidates.size()) {
            fail(lastError != null ? lastError : new IOException("connect(" + target + "): no address"));
            return;
        }
        InetSocketAddress addr = new InetSocketAddress(candidates.get(next++), cfg.port);
        shareTimer(addr);
        Sockets sockets = Sockets.get();
        try {
            fd = Fd.own(sockets.stream(addr));
            peer = addr;
            if (local != null || cfg.localPort != 0) {
                // No local host but a port: the wildcard of the target's family, with that port.
                InetAddress from = local != null ? local
                    : addr.getAddress() instanceof java.net.Inet6Address ? ANY_IPV6 : ANY_IPV4;
                try {
                    sockets.bind(fd.fd(), new InetSocketAddress(from, cfg.localPort));
                } catch (NativeException e) {
                    if (lastError == null) {
                        lastError = e;   // a bind error only if no connect error says more
                    }
                    closeFd();
                    attemptNext();
                    return;
                }
            }
            if (cfg.noDelay) {
                sockets.setNoDelay(fd.fd(), true);
            }
            connecting(sockets.connect(fd.fd(), addr));
        } catch (NativeException | RuntimeException e) {
            lastError = e;
            closeFd();
            attemptNext();
        }
    }

    /**
     * Bounds the attempt at {@code addr}: by its share of the time left if more addresses
     * follow, else by the connect timeout itself. Once per address, never per message.
     */
    private void shareTimer(InetSocketAddress addr) {
        int left = candidates.size() - next + 1;
        if (left == 1 && !timerIsShare) {
            return;   // the connect timeout's own timer already bounds the last address
        }
        timer.cancel();
        long remaining = Math.max(0, deadlineNanos - System.nanoTime());
        if (left == 1) {
            timerIsShare = false;
            timer = shard.loop.schedule(remaining, TimeUnit.NANOSECONDS, this::timedOut);
            return;
        }
        long share = remaining / left;
        timerIsShare = true;
        timer = shard.loop.schedule(share, TimeUnit.NANOSECONDS, () -> shareUsedUp(addr, share));
    }

    /** An address other than the last did not answer within its share: the next one is tried. */
    private void shareUsedUp(InetSocketAddress addr, long shareNanos) {
        if (released) {
            return;
        }
        lastError = new NativeException("connect", addr.getAddress().getHostAddress() + ":" + cfg.port, Errno.ETIMEDOUT,
            "no connection within " + TimeUnit.NANOSECONDS.toMillis(shareNanos) + " ms, its share of the connect timeout");
        closeFd();
        attemptNext();
    }

    /** The connect timeout passed. */
    private void timedOut() {
        boolean backlogFull = lastError instanceof NativeException && ((NativeException) lastError).errno() == Errno.EAGAIN;
        fail(new NativeException("connect", target, Errno.ETIMEDOUT, "no connection within "
            + cfg.connectTimeout.toMillis() + " ms" + (backlogFull ? "; the listener's backlog stayed full" : "")));
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
            lastError = e;
            attemptNext();
        } else {
            fail(e);
        }
    }

    @Override
    public void failed(int f, Throwable error) {
        fail(error);
    }

    /** Its client or its loop is closing: release the fd and fail the future, on the loop thread. */
    void cancel(String why) {
        fail(new IOException("connect(" + target + "): " + why));
    }

    /** Hands the fd to a new connection: from here on the connection owns it. */
    private void established() {
        if (gaveUp()) {
            return;
        }
        released = true;
        timer.cancel();
        shard.connectDone(this);
        Fd owned = fd;
        fd = null;
        Connection c = new Connection(shard, owned, true, 0, 0, peer);
        if (!shard.connected(c)) {
            owned.close();
            shard.failed++;
            result.completeExceptionally(new IOException("connect(" + target + "): the client is closing"));
            return;
        }
        if (!result.complete(c)) {
            Closing.abort(c, DisconnectCause.LOCAL_CLOSE);   // its caller gave up waiting (cancelled): nobody holds it
        }
    }

    private void fail(Throwable e) {
        if (release()) {
            result.completeExceptionally(e);
        }
    }

    /**
     * True if the caller gave up on the future (it is complete, and not by this connector,
     * which releases before completing it): the attempt is aborted here and now.
     */
    private boolean gaveUp() {
        if (released) {
            return true;
        }
        if (result.isDone()) {
            release();
            return true;
        }
        return false;
    }

    /** Closes the fd, cancels the timer, counts the failure and leaves the shard, once; false if already done. */
    private boolean release() {
        if (released) {
            return false;
        }
        released = true;
        closeFd();
        if (timer != null) {
            timer.cancel();
        }
        if (retry != null) {
            retry.cancel();
        }
        shard.failed++;
        shard.connectDone(this);
        return true;
    }

    private void closeFd() {
        if (fd != null) {
            fd.closeOn(shard.loop);
            fd = null;
        }
    }
}
