package evloop;

import evloop.sys.Epoll;

/**
 * How epoll reports an fd's readiness. {@link #LEVEL} (the default) reports it on every wait
 * while it lasts, so a handler may read part of the data and come back; {@link #EDGE} reports
 * only changes from not-ready to ready, so a handler must read or write until EAGAIN;
 * the one-shot variants report once and then stay silent until {@link EventLoop#rearm(int)}.
 */
public enum Trigger {
    LEVEL(0),
    EDGE(Epoll.EPOLLET),
    ONESHOT(Epoll.EPOLLONESHOT),
    EDGE_ONESHOT(Epoll.EPOLLET | Epoll.EPOLLONESHOT);

    final int bits;

    Trigger(int bits) {
        this.bits = bits;
    }
}
