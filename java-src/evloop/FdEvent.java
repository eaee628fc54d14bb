package evloop;

import java.util.Set;

/** One (fd, events) pair, copied out of a {@link Ready} view to be kept (for the REPL, tests, logs). */
public record FdEvent(int fd, Set<Interest> events) {
    @Override
    public String toString() {
        return "[" + fd + " " + events + "]";
    }
}
