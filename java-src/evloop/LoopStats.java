package evloop;

/**
 * Counters of one loop, read from any thread.
 *
 * @param turns      epoll_wait calls that returned (including held waits)
 * @param events     (fd, events) pairs handed to the turn handler
 * @param stale      pairs dropped because their fd was removed or reused during the turn
 * @param wakeups    eventfd writes made by other threads (coalesced: at most one pending)
 * @param tasks      tasks run from {@link EventLoop#execute}
 * @param timers     timers fired
 * @param registered fds currently registered
 * @param pendingTimers timers waiting in the heap
 * @param idleNanos  time spent waiting in epoll_wait (or held, waiting for tasks)
 * @param busyNanos  time spent between waits: dispatching, timers, tasks; the turn in
 *                   progress counts up to the moment these counters were read, so a loop stuck
 *                   in one callback reads busy
 */
public record LoopStats(long turns, long events, long stale, long wakeups, long tasks,
                        long timers, int registered, int pendingTimers, long idleNanos, long busyNanos) {}
