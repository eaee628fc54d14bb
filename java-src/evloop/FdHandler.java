package evloop;

import java.util.Set;

/** What a read-table or write-table entry does when its fd is ready. Runs on the loop thread. */
@FunctionalInterface
public interface FdHandler {
    /**
     * Called with the ready fd and the events epoll reported for it (a shared immutable set).
     * An exception goes to the loop's {@link ErrorHandler}; the loop itself goes on.
     */
    void handle(int fd, Set<Interest> events) throws Exception;
}
