package evloop;

import java.util.Set;

/** What a read-table or write-table entry does when its fd is ready. Runs on the loop thread. */
@FunctionalInterface
public interface FdHandler {
    /**
     * Called with the ready fd and the events epoll reported for it.
     *
     * @param fd the ready fd
     * @param events a shared immutable set: never allocated per call
     * @throws Exception see {@link #failed}
     */
    void handle(int fd, Set<Interest> events) throws Exception;

    /**
     * This handler threw: the loop has taken {@code fd} out of both tables (so a level-triggered
     * fd cannot spin) and reported the error to its {@link ErrorHandler}. The fd is still open.
     * The loop never closes an fd it did not create; closing it, or registering it again, is
     * its owner's decision, and this is where the owner hears of it. The default does nothing.
     *
     * @param fd the fd, now in neither table
     * @param error what {@link #handle} threw
     */
    default void failed(int fd, Throwable error) {}
}
