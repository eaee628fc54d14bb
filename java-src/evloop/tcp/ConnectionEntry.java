package evloop.tcp;

import evloop.FdHandler;
import evloop.Interest;
import java.util.Set;

/**
 * A table entry shared by every connection of a loop, as the Chicken server's tables held one
 * procedure for all client fds: it finds the connection by fd, so a connection needs no handler
 * object of its own. What escapes it ends that connection, not the loop. The {@link Reader}
 * is the read-table entry, the {@link Writer} the write-table one. Loop thread only.
 */
abstract class ConnectionEntry implements FdHandler {
    final LoopResources resources;

    ConnectionEntry(LoopResources resources) {
        this.resources = resources;
    }

    /** The fd is ready for what this entry does. */
    abstract void ready(Connection c, int fd);

    @Override
    public final void handle(int fd, Set<Interest> events) {
        Connection c = resources.connection(fd);
        if (c == null) {
            return;
        }
        try {
            ready(c, fd);
        } catch (Throwable e) {
            c.internalFailure(e);
        }
    }

    /** The loop took the fd out of its tables because something escaped: end the connection. */
    @Override
    public final void failed(int fd, Throwable error) {
        Connection c = resources.connection(fd);
        if (c != null) {
            Closing.abort(c, DisconnectCause.ERROR);
        }
    }
}
