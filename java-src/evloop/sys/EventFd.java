package evloop.sys;

import java.nio.ByteBuffer;

/**
 * A non-blocking eventfd used as a wake-up: any thread may {@link #signal()}, the owner polls
 * {@link #fd()} for readability and {@link #drain()}s it. A thread blocked in native
 * {@code epoll_wait} does not notice {@code Thread.interrupt()}, so this is how it is woken.
 */
public final class EventFd implements AutoCloseable {
    private final Native nat;
    private final int fd;
    private final ByteBuffer scratch = Native.allocate(8);
    private final long scratchAddress = Native.address(scratch);
    /** struct pollfd {int fd; short events = POLLIN; short revents;}, for {@link #await}. */
    private final ByteBuffer pollFd = Native.allocate(8);
    private final long pollFdAddress = Native.address(pollFd);
    private boolean closed;

    private EventFd(Native nat, int fd) {
        this.nat = nat;
        this.fd = fd;
        pollFd.putInt(0, fd);
        pollFd.putShort(4, (short) 1);
    }

    /**
     * {@code eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)}: a new wake-up, not signalled.
     *
     * @return a new instance that owns its fd until {@link #close()}
     * @throws NativeException naming eventfd and errno (EMFILE, say)
     */
    public static EventFd open() throws NativeException {
        return new EventFd(Native.get(), Descriptors.get().eventfd(0));
    }

    /**
     * The fd to watch for readability, which this instance owns and closes.
     *
     * @return the fd
     */
    public int fd() {
        return fd;
    }

    /**
     * Makes the fd readable; safe from any thread. Synchronized with {@link #close()}, so a
     * signal racing a close can never write into a closed number that a new fd already reuses.
     * After the close it does nothing. A counter that is already saturated (EAGAIN) is still
     * readable, so that is not an error either.
     *
     * @throws NativeException naming write and errno if the write fails otherwise
     */
    public synchronized void signal() throws NativeException {
        if (!closed) {
            nat.eventfdSignal(fd);
        }
    }

    /**
     * Waits up to {@code timeoutMillis} (-1: forever) for a signal, without resetting it; owner
     * thread only. A loop held by its pause gate waits here: {@code poll(2)} on this one fd, so
     * holding needs no second epoll set (and no fd that could be missing when fds run out).
     * EINTR is retried with the time left.
     *
     * @param timeoutMillis the longest wait in milliseconds; -1 waits forever, 0 only polls
     * @return true if the fd is readable (signalled), false if the time ran out
     * @throws NativeException naming poll and errno for any failure other than EINTR
     */
    public boolean await(int timeoutMillis) throws NativeException {
        return nat.poll(pollFdAddress, timeoutMillis);
    }

    /**
     * Resets the counter so the fd is no longer readable; returns how many signals it held. Owner thread only.
     *
     * @return the counter before the reset: how many signals arrived, 0 if none (EAGAIN)
     * @throws NativeException naming read and errno if the read fails otherwise
     */
    public long drain() throws NativeException {
        long n = nat.read(fd, scratchAddress, 8);
        return n == Native.WOULD_BLOCK ? 0 : scratch.getLong(0);
    }

    @Override
    public synchronized void close() throws NativeException {
        if (!closed) {
            closed = true;
            nat.close(fd);
        }
    }
}
