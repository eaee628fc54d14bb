package evloop.tcp;

import evloop.EventLoop;
import evloop.FdHandler;
import evloop.Interest;
import evloop.sys.Errno;
import evloop.sys.Native;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The listening socket's read-table entry: accepts up to a batch of connections per event and
 * hands them to the server. When the process is out of fds (EMFILE/ENFILE) the pending
 * connections keep the listener readable, and a level-triggered loop would spin on it; so
 * accepting pauses (the listener leaves the read table) and a timer retries. Clients wait in the
 * kernel's backlog meanwhile and are served once fds are free. One warning per episode.
 */
final class Listener implements FdHandler {
    private static final System.Logger LOG = System.getLogger(Listener.class.getName());

    private final Shard shard;
    private final EventLoop loop;
    private final int fd;
    private final int batch;
    private final long retryNanos;
    private final SockAddr peer = new SockAddr();
    private boolean exhausted;
    private boolean closed;

    Listener(Shard shard, int fd, int batch, long retryNanos) {
        this.shard = shard;
        this.loop = shard.loop;
        this.fd = fd;
        this.batch = batch;
        this.retryNanos = retryNanos;
    }

    int fd() {
        return fd;
    }

    void start() {
        loop.onReadable(fd, this);
    }

    @Override
    public void handle(int listenFd, Set<Interest> events) {
        for (int i = 0; i < batch && !closed; i++) {
            int cfd;
            try {
                cfd = Sockets.get().accept(fd, peer);
            } catch (NativeException e) {
                if (e.errno() == Errno.EMFILE || e.errno() == Errno.ENFILE) {
                    pause(e);
                    return;
                }
                // The connection died between the SYN and accept (ECONNABORTED and friends):
                // nothing to serve, the next one may be fine.
                LOG.log(Level.DEBUG, "accept failed on fd " + fd, e);
                continue;
            }
            if (cfd == Native.WOULD_BLOCK) {
                return;
            }
            if (exhausted) {
                exhausted = false;
                LOG.log(Level.INFO, "accepting again on " + shard.server.localAddress() + ": fds are available");
            }
            try {
                shard.accepted(cfd, peer);
            } catch (RuntimeException e) {
                // Adopting one connection failed (its connection already reset itself, or the
                // hand-off did); the listener must live on for the next.
                LOG.log(Level.WARNING, "serving the connection on fd " + cfd + " failed", e);
            }
        }
    }

    private void pause(NativeException e) {
        shard.acceptPauses++;
        loop.offReadable(fd);
        loop.schedule(retryNanos, TimeUnit.NANOSECONDS, () -> {
            if (!closed) {
                loop.onReadable(fd, this);
            }
        });
        if (!exhausted) {
            exhausted = true;
            // Logged after the pause is in place: without fds the logger may fail too.
            LOG.log(Level.WARNING, "out of file descriptors (" + e.errnoName() + ") on " + shard.server.localAddress()
                + ": accepting pauses and retries every " + TimeUnit.NANOSECONDS.toMillis(retryNanos)
                + " ms until fds are free; clients wait in the backlog");
        }
    }

    void close() {
        if (!closed) {
            closed = true;
            try {
                if (!loop.isClosed()) {
                    loop.remove(fd);
                }
            } finally {
                Native.get().closeQuietly(fd);
            }
        }
    }
}
