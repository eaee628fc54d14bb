package evloop;

/**
 * Where tools attach to a loop without the loop knowing them, in the manner of redis'
 * {@code beforesleep} and {@code aftersleep}: the REPL controls, the turn recorder and the
 * watchdog in {@code evloop.tools} are written against this interface alone. Add one with
 * {@link EventLoop#addHook}. Every method runs on the loop thread, must be quick, and is
 * guarded: what it throws goes to the loop's {@link ErrorHandler} (as fd -1), never out of the
 * loop. Each has an empty default, so a hook implements only what it needs.
 */
public interface LoopHook {
    /**
     * Before each wait, real or while the loop is held by its {@link PauseGate}: the end of the
     * previous turn.
     *
     * @param loop the loop
     * @throws Exception reported to the loop's error handler
     */
    default void beforeWait(EventLoop loop) throws Exception {}

    /**
     * Right after each wait returned, before anything is dispatched: the start of a turn.
     *
     * @param loop the loop
     * @param pairs how many (fd, events) pairs the wait returned (0 for a timeout, a wake-up or
     *     a held wait)
     * @throws Exception reported to the loop's error handler
     */
    default void afterWait(EventLoop loop, int pairs) throws Exception {}

    /**
     * A turn's pairs, before the per-turn callback sees them; only for turns with pairs.
     *
     * @param loop the loop
     * @param turn the turn's number ({@link LoopStats#turns()} at that point)
     * @param ready the pairs, valid only during this call: {@link Ready#copy()} to keep them
     * @throws Exception reported to the loop's error handler
     */
    default void onTurn(EventLoop loop, long turn, Ready ready) throws Exception {}

    /**
     * The loop is closing: called once, on the thread that finishes the close, after the last
     * accepted tasks ran and before the loop releases its own fds. The loop never closes the fds
     * in its tables; this is where their owners hear that it will run no more, and close them.
     * Tasks queued from here still run.
     *
     * @param loop the loop
     * @throws Exception reported to the loop's error handler
     */
    default void onClose(EventLoop loop) throws Exception {}
}
