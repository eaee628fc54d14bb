package evloop;

import java.util.Set;

/**
 * One registered fd, as data: the interest epoll holds for it, which tables hold it, its
 * trigger mode and the generation that tags its events.
 */
public record FdInfo(int fd, Set<Interest> interest, boolean reader, boolean writer,
                     Trigger trigger, int generation) {}
