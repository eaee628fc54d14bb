package evloop.tcp;

import evloop.EventLoop;
import evloop.FdHandler;
import evloop.Interest;
import evloop.net.Fd;
import evloop.sys.Errno;
import evloop.sys.Native;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The listening socket's read-table entry: accepts up to a batch of connections per event and
 * hands them to the server.
 *
 * <p>When the process runs out of fds or kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), the
 * pending connections keep the listener readable and a level-triggered loop would spin on it.
 * So accepting pauses (the listener leaves the read table) and a timer retries; clients wait in
 * the kernel's backlog meanwhile and are served once resources are free. One warning per
 * episode. Everything that path needs is loaded before the first accept ({@link Preload}), and
 * its timer task is built with the listener, because without fds none of it could be loaded
 * later: a class file is read through an fd.
 *
 * <p>The listener owns its {@link Fd} and closes it once, in {@link #close()}, which any thread
 * may call.
 */
final class Listener implements FdHandler {
    private static final System.Logger LOG = System.getLogger(Listener.class.getName());

    /** accept4 as the listener calls it: {@link Sockets#accept}, or a test's stand-in that fails on cue. */
    @FunctionalInterface
    interface Acceptor {
        int accept(int listenFd, SockAddr peer) throws NativeException;
    }

    private final Shard shard;
    private final EventLoop loop;
    private final Fd fd;
    private final int batch;
    private final long retryNanos;
    private final Acceptor acceptor;
    private final SockAddr peer = new SockAddr();
    /** The socket file of a Unix listener, removed on close; null for TCP and abstract names. */
    private final UnixSocketFile file;
    /** Built now, so that pausing allocates no new class: see the class comment. */
    private final Runnable retry = this::retry;
    private boolean exhausted;
    private boolean paused;
    /** Set once, by whichever thread closes first; read by the loop thread between accepts. */
    private volatile boolean closed;
    private static final java.lang.invoke.VarHandle CLOSED;

    static {
        try {
            CLOSED = java.lang.invoke.MethodHandles.lookup().findVarHandle(Listener.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    Listener(Shard shard, Fd fd, ServerConfig cfg, UnixSocketFile file) {
        this.shard = shard;
        this.file = file;
        this.loop = shard.loop;
        this.fd = fd;
        this.batch = cfg.acceptBatch;
        this.retryNanos = cfg.acceptRetry.toNanos();
        this.acceptor = cfg.acceptor;
    }

    int fd() {
        return fd.fd();
    }

    void start() {
        if (!closed) {
            loop.onReadable(fd.fd(), this);
        }
    }

    /** {@link #start()} handed to the loop: nobody waits for it, so a failure closes the listener, loudly. */
    private void startOrClose() {
        try {
            start();
        } catch (RuntimeException e) {
            log(Level.WARNING, "cannot listen on " + shard.endpoint.server.address() + " on this loop; closing"
                + " its listener: " + e);
            close();
        }
    }

    @Override
    public void handle(int listenFd, Set<Interest> events) {
        for (int i = 0; i < batch && !closed; i++) {
            int cfd;
            try {
                cfd = acceptor.accept(fd.fd(), peer);
            } catch (NativeException e) {
                if (isPerConnection(e.errno())) {
                    // The connection died between the SYN and accept, or the kernel handed us
                    // its pending network error: nothing to serve, the next one may be fine.
                    continue;
                }
                pause(e.errnoName());
                return;
            }
            if (cfd == Native.WOULD_BLOCK) {
                return;
            }
            if (exhausted) {
                exhausted = false;
                log(Level.INFO, "accepting again on " + shard.endpoint.server.address() + ": resources are free");
            }
            shard.accepted(cfd, peer);
        }
    }

    /**
     * Errors accept4 reports for one connection only (man accept4: Linux passes a new
     * connection's pending network error to accept); anything else (out of fds or memory, or an
     * errno nobody expected) pauses accepting rather than retrying it in a tight loop.
     */
    private static boolean isPerConnection(int errno) {
        switch (errno) {
            case Errno.ECONNABORTED:
            case Errno.EPROTO:
            case Errno.EPERM:
            case Errno.ENETDOWN:
            case Errno.ENETUNREACH:
            case Errno.EHOSTDOWN:
            case Errno.EHOSTUNREACH:
            case Errno.ENONET:
            case Errno.ENOPROTOOPT:
            case Errno.EOPNOTSUPP:
                return true;
            default:
                return false;
        }
    }

    /** The loop took the listener out of its tables (something here threw): come back after a pause. */
    @Override
    public void failed(int listenFd, Throwable error) {
        pause(error.getClass().getSimpleName());
    }

    private void pause(String why) {
        if (closed || paused) {
            return;
        }
        int number = fd.fd();   // read once: a close on another thread makes it -1
        if (number < 0) {
            return;
        }
        paused = true;
        shard.acceptPauses++;
        loop.offReadable(number);
        loop.schedule(retryNanos, TimeUnit.NANOSECONDS, retry);
        if (!exhausted) {
            exhausted = true;
            log(Level.WARNING, "cannot accept on " + shard.endpoint.server.address() + " (" + why
                + "): accepting pauses and retries every " + TimeUnit.NANOSECONDS.toMillis(retryNanos)
                + " ms until fds and memory are free; clients wait in the backlog");
        }
    }

    private void retry() {
        paused = false;
        if (closed) {
            return;
        }
        try {
            loop.onReadable(fd.fd(), this);
        } catch (RuntimeException stillShort) {
            // epoll_ctl itself can fail for want of memory (ENOMEM, ENOSPC): pause again
            // rather than stay deaf.
            pause(stillShort.getClass().getSimpleName());
        }
    }

    /** Logs, and survives a logger that fails for want of an fd. */
    private static void log(Level level, String message) {
        try {
            LOG.log(level, message);
        } catch (Throwable loggingFailed) {
            // Nothing to do: the pause itself is already in place.
        }
    }

    /**
     * Opens the listeners of a server's shards, as {@code cfg} says, and starts them on their
     * loops: one TCP listener (least-loaded: it hands connections to every shard), one per loop
     * with SO_REUSEPORT, or one Unix socket. Closes what it opened if a later step fails.
     *
     * @return the bound address (with the kernel's port for port 0)
     */
    static SocketAddress openAll(Shard[] shards, ServerConfig cfg) throws NativeException {
        boolean perLoop = cfg.balance == TcpServer.Balance.REUSE_PORT && shards.length > 1;
        if (perLoop && cfg.unixPath != null) {
            throw new IllegalArgumentException("balance must be LEAST_LOADED for a unix socket server (SO_REUSEPORT is TCP only), got "
                + cfg.balance);
        }
        SocketAddress bound = null;
        try {
            for (int i = 0; i < (perLoop ? shards.length : 1); i++) {
                UnixSocketFile[] file = new UnixSocketFile[1];
                Fd fd;
                if (cfg.unixPath != null) {
                    fd = UnixSocketFile.listen(cfg.unixPath, cfg.backlog, cfg.unixFileMode, file);
                    bound = cfg.unixPath;
                    for (Shard s : shards) {
                        s.unixPeer = cfg.unixPath;
                    }
                } else {
                    InetSocketAddress at = bound == null ? resolve(cfg) : (InetSocketAddress) bound;
                    fd = Fd.own(Sockets.get().listen(at, cfg.backlog, perLoop || cfg.reusePort));
                    if (bound == null) {
                        try {
                            bound = Sockets.get().localAddress(fd.fd());
                        } catch (NativeException | RuntimeException e) {
                            fd.close();   // in no Listener yet: the shutdown below would not see it
                            throw e;
                        }
                    }
                }
                Listener l = new Listener(shards[i], fd, cfg, file[0]);
                shards[i].listener = l;
                EventLoop loop = shards[i].loop;
                if (EventLoop.current() != null && !loop.inLoop()) {
                    // A loop thread never waits for another loop: the socket listens already
                    // (clients wait in the backlog), and that loop starts polling it when it
                    // gets to this task.
                    loop.execute(l::startOrClose);
                } else {
                    loop.call(() -> {
                        l.start();
                        return null;
                    });
                }
            }
            return bound;
        } catch (NativeException | RuntimeException e) {
            // Listeners opened so far, and connections they may already have accepted: closed
            // even where the loop cannot run the shutdown (closed, or blocked by a handler).
            for (Shard s : shards) {
                try {
                    s.shutdownAnywhere();
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    private static InetSocketAddress resolve(ServerConfig cfg) {
        try {
            return new InetSocketAddress(InetAddress.getByName(cfg.host), cfg.port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("host must be an address or a name that resolves, got " + cfg.host, e);
        }
    }

    /**
     * Stops listening and closes the fd, once, from any thread: off the loop's thread (a loop
     * blocked by a handler, or closing) the socket closes at once, so the port is free, and the
     * loop frees the number once it is out of its tables (see {@link Fd#closeOn}).
     */
    void close() {
        if (CLOSED.compareAndSet(this, false, true)) {
            // The file first, while the socket still listens: nobody starting on this path can
            // judge it stale and put a socket of their own there for us to remove.
            removeFile();
            fd.closeOn(loop);
        }
    }

    private void removeFile() {
        if (file != null) {
            file.remove();
        }
    }
}
