package evloop;

import java.util.Set;

/**
 * One registered fd, as data: the interest epoll holds for it, which tables hold it, its
 * trigger mode and the generation that tags its events.
 *
 * @param fd         the fd
 * @param interest   the readiness epoll watches it for (IN and RDHUP for a reader, OUT for a writer)
 * @param reader     whether the read table has an entry for it
 * @param writer     whether the write table has an entry for it
 * @param trigger    how epoll reports it ({@link Trigger#LEVEL} unless set)
 * @param generation the number of this registration, stored with the fd in every event
 */
public record FdInfo(int fd, Set<Interest> interest, boolean reader, boolean writer,
                     Trigger trigger, int generation) {}
