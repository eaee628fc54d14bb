package evloop;

import java.util.Set;

/**
 * One (fd, events) pair, copied out of a {@link Ready} view to be kept (for the REPL, tests, logs).
 *
 * @param fd     the fd epoll reported
 * @param events what it reported, as {@link Ready#events(int)} gave it
 */
public record FdEvent(int fd, Set<Interest> events) {
    @Override
    public String toString() {
        return "[" + fd + " " + events + "]";
    }
}
