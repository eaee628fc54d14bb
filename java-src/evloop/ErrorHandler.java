package evloop;

/** Where the loop sends an exception thrown by a handler, timer or task, so that the loop goes on. */
@FunctionalInterface
public interface ErrorHandler {
    /**
     * @param fd the fd whose handler failed, or -1 for a turn handler, timer or task
     */
    void onError(EventLoop loop, int fd, Throwable error);
}
