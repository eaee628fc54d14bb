package evloop;

import evloop.sys.Descriptors;
import evloop.sys.Native;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;

/**
 * {@link EventLoop}'s loop-thread-only calls (the table methods, {@code dispatch} and
 * {@code inject}) from whichever thread makes them. On the loop's thread a call acts at once;
 * from a thread that does not own the loop it borrows the loop while nobody runs it, and is
 * refused while another thread does. Each method tests for the owner itself rather than taking
 * a lambda, so a call on the loop's thread, the one every connection makes, allocates nothing.
 * Also {@code removeAndClose}, which works from any thread at any time.
 */
final class TableCalls {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());

    private final EventLoop loop;
    private final LoopCore core;
    private final LoopOwner owner;
    private final FdTable table;

    TableCalls(EventLoop loop, LoopCore core) {
        this.loop = loop;
        this.core = core;
        this.owner = core.owner;
        this.table = core.table;
    }

    /** See {@link EventLoop#onReadable}. */
    void setReader(int fd, FdHandler handler) {
        if (owner.isCurrent()) {
            table.setReader(fd, handler);
        } else {
            borrowed(() -> table.setReader(fd, handler));
        }
    }

    /** See {@link EventLoop#onWritable}. */
    void setWriter(int fd, FdHandler handler) {
        if (owner.isCurrent()) {
            table.setWriter(fd, handler);
        } else {
            borrowed(() -> table.setWriter(fd, handler));
        }
    }

    /** See {@link EventLoop#setTrigger}. */
    void setTrigger(int fd, Trigger trigger) {
        if (owner.isCurrent()) {
            table.setTrigger(fd, trigger);
        } else {
            borrowed(() -> table.setTrigger(fd, trigger));
        }
    }

    /** See {@link EventLoop#rearm}. */
    void rearm(int fd) {
        if (owner.isCurrent()) {
            table.rearm(fd);
        } else {
            borrowed(() -> table.rearm(fd));
        }
    }

    /** See {@link EventLoop#remove}. */
    void remove(int fd) {
        if (owner.isCurrent()) {
            table.remove(fd);
        } else {
            borrowed(() -> table.remove(fd));
        }
    }

    /** See {@link EventLoop#dispatch}. */
    void dispatch(Ready r) {
        if (owner.isCurrent()) {
            core.dispatcher.dispatch(r);
        } else {
            borrowed(() -> core.dispatcher.dispatch(r));
        }
    }

    /** See {@link EventLoop#inject}. */
    void inject(List<FdEvent> pairs) {
        if (owner.isCurrent()) {
            core.inject(pairs);
        } else {
            borrowed(() -> core.inject(pairs));
        }
    }

    /**
     * A loop-thread-only call from a thread that does not own the loop: allowed while nobody
     * runs it, and then that thread owns it for the call, so a run() starting meanwhile waits.
     */
    private void borrowed(Runnable call) {
        owner.checkOpen();
        if (!owner.tryBorrow(loop)) {
            throw owner.notOwner();
        }
        try {
            call.run();
        } finally {
            core.leave();
        }
    }

    /**
     * See {@link EventLoop#removeAndClose}. The number is closed only after it has left the
     * tables (or the tables are gone with a closed loop): a number freed earlier could be
     * given to a new fd that the tables would then take for the old registration.
     */
    void removeAndClose(int fd) {
        if (owner.isCurrent()) {
            removeThenClose(fd);
            return;
        }
        boolean borrowed;
        try {
            borrowed = owner.tryBorrow(loop);
        } catch (IllegalStateException closed) {
            Native.get().closeQuietly(fd);   // its tables went with the loop
            return;
        }
        if (borrowed) {
            try {
                removeThenClose(fd);
            } finally {
                core.leave();
            }
            return;
        }
        // Another thread runs the loop: what the fd refers to is released now (a listener's
        // port is free at once), the number is the loop's to take out and close.
        if (!Descriptors.get().park(fd)) {
            // No placeholder (out of fds before one was ever made): the socket stays open
            // until the loop gets to the task below. Said, since a caller may count on the port.
            LOG.log(System.Logger.Level.WARNING, "fd " + fd + " could not be released at once (no placeholder fd);"
                + " it closes when its loop next runs its tasks");
        }
        try {
            core.tasks.add(() -> removeThenClose(fd), false);
        } catch (RejectedExecutionException closing) {
            if (!owner.afterClose(() -> Native.get().closeQuietly(fd))) {
                Native.get().closeQuietly(fd);
            }
        }
    }

    private void removeThenClose(int fd) {
        try {
            table.remove(fd);
        } finally {
            Native.get().closeQuietly(fd);
        }
    }
}
