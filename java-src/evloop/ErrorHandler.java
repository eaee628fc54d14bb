package evloop;

/**
 * Where the loop reports what user code threw (handlers, the turn handler, timers, tasks, hooks,
 * the pause gate), so that the loop goes on. It only reports: by the time it is called, a
 * failed fd handler's fd has already been removed from the tables and the handler's owner is
 * told through {@link FdHandler#failed}. The default logs a warning. An error handler that
 * throws is logged, and the loop goes on.
 */
@FunctionalInterface
public interface ErrorHandler {
    /**
     * @param loop the loop
     * @param fd the fd whose handler failed, or -1 for everything else
     * @param error what was thrown
     */
    void onError(EventLoop loop, int fd, Throwable error);
}
