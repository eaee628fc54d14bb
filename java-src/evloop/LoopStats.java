package evloop;

/**
 * Counters of one loop, read from any thread.
 *
 * @param turns      epoll_wait calls that returned
 * @param events     (fd, events) pairs handed to the turn handler
 * @param stale      pairs dropped because their fd was removed or reused during the turn
 * @param wakeups    eventfd writes made by other threads (coalesced: at most one pending)
 * @param tasks      tasks run from {@link EventLoop#execute}
 * @param timers     timers fired
 * @param registered fds currently registered
 * @param stalls     turns the watchdog saw run longer than its threshold
 * @param spins      episodes of turning without events or work faster than the watchdog's limit
 */
public record LoopStats(long turns, long events, long stale, long wakeups, long tasks,
                        long timers, int registered, long stalls, long spins) {}
