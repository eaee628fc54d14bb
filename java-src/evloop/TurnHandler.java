package evloop;

/**
 * The per-turn callback: receives every (fd, events) pair one {@code epoll_wait} returned, as
 * the Chicken Scheme server's {@code fd-event-list-handler} did. It is called only for turns that
 * returned at least one pair. The default, {@link EventLoop#dispatch(Ready)}, hands each pair to
 * the read and write tables; a replacement may inspect, log, filter or reorder the pairs and
 * then call {@code dispatch} itself, or handle them entirely on its own.
 */
@FunctionalInterface
public interface TurnHandler {
    /**
     * Handles one turn's pairs, on the loop thread.
     *
     * @param loop the loop, whose {@link EventLoop#dispatch(Ready)} hands the pairs to the tables
     * @param ready the turn's pairs, valid only during this call ({@link Ready#copy()} keeps them)
     * @throws Exception goes to the loop's {@link ErrorHandler} (with fd -1); the loop goes on, and
     *     pairs not yet dispatched in this turn are dropped
     */
    void onTurn(EventLoop loop, Ready ready) throws Exception;
}
