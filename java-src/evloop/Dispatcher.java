package evloop;

import evloop.sys.Epoll;
import evloop.sys.Native;
import java.lang.System.Logger.Level;

/**
 * The per-turn callback and the default one's work: hands each pair to its fd's read-table entry (for IN,
 * PRI, RDHUP, HUP or ERR), then its write-table entry (for OUT, or HUP/ERR when the fd has no
 * reader), skipping pairs whose registration was removed or replaced earlier in the turn, and
 * isolating every handler so that an exception reaches the {@link ErrorHandler}, not the loop.
 * Loop thread only.
 */
final class Dispatcher {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
    private static final int READ_BITS =
        Epoll.EPOLLIN | Epoll.EPOLLPRI | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP | Epoll.EPOLLERR;
    private static final int FAIL_BITS = Epoll.EPOLLHUP | Epoll.EPOLLERR;

    private final EventLoop loop;
    private final FdTable table;
    private volatile ErrorHandler errorHandler = Dispatcher::defaultError;
    private volatile TurnHandler turnHandler = Dispatcher::defaultTurn;
    private volatile long stale;
    private volatile long events;

    Dispatcher(EventLoop loop, FdTable table) {
        this.loop = loop;
        this.table = table;
    }

    long stale() {
        return stale;
    }

    long events() {
        return events;
    }

    void setTurnHandler(TurnHandler handler) {
        this.turnHandler = handler == null ? Dispatcher::defaultTurn : handler;
    }

    private static void defaultTurn(EventLoop loop, Ready ready) {
        loop.dispatch(ready);
    }

    /** Hands one turn's pairs to the per-turn callback, isolating what it throws. */
    void turn(Ready ready) {
        events += ready.size();
        try {
            turnHandler.onTurn(loop, ready);
        } catch (Throwable t) {
            report(-1, t);
        }
    }

    void setErrorHandler(ErrorHandler handler) {
        this.errorHandler = handler == null ? Dispatcher::defaultError : handler;
    }

    void dispatch(Ready r) {
        for (int i = 0; i < r.size(); i++) {
            int fd = r.fd(i);
            int gen = r.generation(i);
            if (!table.isCurrent(fd, gen)) {
                stale++;
                continue;
            }
            int bits = r.bits(i);
            FdHandler reader = table.reader(fd);
            if (reader != null && (bits & READ_BITS) != 0) {
                call(reader, fd, bits);
                if (!table.isCurrent(fd, gen)) {
                    continue;
                }
            }
            FdHandler writer = table.writer(fd);
            if (writer != null && ((bits & Epoll.EPOLLOUT) != 0 || (reader == null && (bits & FAIL_BITS) != 0))) {
                call(writer, fd, bits);
            }
        }
    }

    private void call(FdHandler h, int fd, int bits) {
        try {
            h.handle(fd, Interest.decode(bits));
        } catch (Throwable t) {
            report(fd, t);
        }
    }

    /** Runs a task or timer, sending what it throws to the error handler. */
    void guarded(Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            report(-1, t);
        }
    }

    /** Sends {@code t} to the error handler; only a VirtualMachineError (but stack overflow) escapes. */
    void report(int fd, Throwable t) {
        if (t instanceof VirtualMachineError && !(t instanceof StackOverflowError)) {
            throw (VirtualMachineError) t;
        }
        try {
            errorHandler.onError(loop, fd, t);
        } catch (Throwable inner) {
            try {
                LOG.log(Level.ERROR, "error handler failed for fd " + fd, inner);
            } catch (Throwable loggingFailed) {
                // Logging itself can fail (out of fds, it cannot open a file); the loop must
                // outlive that, so the report is dropped.
            }
        }
    }

    private static void defaultError(EventLoop loop, int fd, Throwable t) {
        if (fd < 0) {
            LOG.log(Level.WARNING, "evloop task failed; the loop goes on", t);
            return;
        }
        // Remove first: if logging fails, a level-triggered fd left registered would spin.
        loop.remove(fd);
        Native.get().closeQuietly(fd);
        LOG.log(Level.WARNING, "handler for fd " + fd + " failed; removed and closed fd " + fd, t);
    }
}
