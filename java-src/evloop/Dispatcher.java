package evloop;

import evloop.sys.Epoll;
import java.lang.System.Logger.Level;

/**
 * The per-turn callback and the default one's work: hands each pair to its fd's read-table
 * entry (for IN, PRI, RDHUP, HUP or ERR), then its write-table entry (for OUT, or HUP/ERR when
 * the fd has no reader), skipping pairs whose registration was removed or replaced earlier in
 * the turn.
 *
 * <p>It is also where user code is guarded. Whatever a handler throws (any {@code Throwable}:
 * an {@code Error} from a bug is the likeliest thing to reach here) is caught; the failed
 * handler's fd is removed from both tables, so a level-triggered fd cannot spin; the error goes
 * to the {@link ErrorHandler}; and the handler's owner is told through
 * {@link FdHandler#failed}. The loop never closes the fd: it did not open it. Loop thread only.
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
    /** Written by the loop thread once a turn, read anywhere: a release store, as TurnClock's counters. */
    private long events;
    private static final java.lang.invoke.VarHandle EVENTS;

    static {
        try {
            EVENTS = java.lang.invoke.MethodHandles.lookup().findVarHandle(Dispatcher.class, "events", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    Dispatcher(EventLoop loop, FdTable table) {
        this.loop = loop;
        this.table = table;
    }

    long stale() {
        return stale;
    }

    long events() {
        return (long) EVENTS.getAcquire(this);
    }

    void setTurnHandler(TurnHandler handler) {
        this.turnHandler = handler == null ? Dispatcher::defaultTurn : handler;
    }

    void setErrorHandler(ErrorHandler handler) {
        this.errorHandler = handler == null ? Dispatcher::defaultError : handler;
    }

    private static void defaultTurn(EventLoop loop, Ready ready) {
        loop.dispatch(ready);
    }

    /** Hands one turn's pairs to the per-turn callback, isolating what it throws. */
    void turn(Ready ready) {
        EVENTS.setRelease(this, events + ready.size());
        try {
            turnHandler.onTurn(loop, ready);
        } catch (Throwable t) {
            report(-1, t);
        }
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
                call(reader, fd, gen, bits);
                if (!table.isCurrent(fd, gen)) {
                    continue;
                }
            }
            FdHandler writer = table.writer(fd);
            if (writer != null && ((bits & Epoll.EPOLLOUT) != 0 || (reader == null && (bits & FAIL_BITS) != 0))) {
                call(writer, fd, gen, bits);
            }
        }
    }

    private void call(FdHandler h, int fd, int gen, int bits) {
        try {
            h.handle(fd, Interest.decode(bits));
        } catch (Throwable t) {
            handlerFailed(h, fd, gen, t);
        }
    }

    /**
     * Takes the fd out of both tables (only if it is still the registration that failed: the
     * handler may have closed it and a new fd may hold the number now), reports, and tells the
     * owners: the handler that failed, and the other table's entry too if it is another object,
     * since its registration went as well.
     */
    private void handlerFailed(FdHandler h, int fd, int gen, Throwable t) {
        FdHandler other = null;
        try {
            if (table.isCurrent(fd, gen)) {
                FdHandler reader = table.reader(fd);
                other = reader != h ? reader : table.writer(fd);
                table.remove(fd);
            }
        } catch (Throwable removal) {
            t.addSuppressed(removal);
        }
        report(fd, t);
        tell(h, fd, t);
        if (other != null && other != h) {
            tell(other, fd, t);
        }
    }

    private void tell(FdHandler owner, int fd, Throwable t) {
        try {
            owner.failed(fd, t);
        } catch (Throwable inner) {
            report(fd, inner);
        }
    }

    /** Runs a task, timer or hook, sending what it throws to the error handler. */
    void guarded(Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            report(-1, t);
        }
    }

    /** Sends {@code t} to the error handler; nothing escapes, not even from the handler or the logger. */
    void report(int fd, Throwable t) {
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
        LOG.log(Level.WARNING, fd < 0
            ? "evloop: user code threw on the loop thread; the loop goes on"
            : "evloop: the handler for fd " + fd + " threw; fd " + fd
                + " is out of the loop's tables and left to its owner, which closes it", t);
    }
}
