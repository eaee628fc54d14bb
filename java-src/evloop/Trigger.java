package evloop;

import evloop.sys.Epoll;

/**
 * How epoll reports an fd's readiness: the registration mode, the one place where EPOLLET and
 * EPOLLONESHOT appear. {@link #LEVEL} (the default) reports readiness on every wait while it
 * lasts, so a handler may read part of the data and come back; {@link #EDGE} reports only
 * changes from not-ready to ready, so a handler must read or write until EAGAIN; the one-shot
 * variants report once and then stay silent until {@link EventLoop#rearm(int)}.
 */
public enum Trigger {
    /** Reported on every wait while the fd is ready (the default). */
    LEVEL(0),
    /** Reported when the fd becomes ready (EPOLLET). */
    EDGE(Epoll.EPOLLET),
    /** Reported once, then disabled until {@link EventLoop#rearm(int)} (EPOLLONESHOT). */
    ONESHOT(Epoll.EPOLLONESHOT),
    /** Edge-triggered and one-shot. */
    EDGE_ONESHOT(Epoll.EPOLLET | Epoll.EPOLLONESHOT);

    final int bits;

    Trigger(int bits) {
        this.bits = bits;
    }
}
