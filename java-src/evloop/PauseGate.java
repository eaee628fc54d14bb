package evloop;

/**
 * Decides, before every turn of {@link EventLoop#run()}, whether the loop is held. A held loop
 * does not poll its fds or fire its timers (connections stay open; the kernel buffers what
 * arrives), but it still runs the tasks handed to {@link EventLoop#execute}, so it keeps
 * answering questions, and a task may turn it exactly once with {@link EventLoop#runOnce(int)}:
 * that is how a REPL pauses and steps a live loop (the REPL tools do exactly this). Set one
 * with {@link EventLoop#setPauseGate}; after changing its answer, wake the loop
 * ({@link EventLoop#wakeup()}). A loop that is closing is never held.
 */
@FunctionalInterface
public interface PauseGate {
    /**
     * Asked on the loop thread before each turn; a throw counts as false and is reported.
     *
     * @param loop the loop
     * @return true to hold the loop for now
     * @throws Exception reported to the loop's error handler
     */
    boolean holds(EventLoop loop) throws Exception;
}
