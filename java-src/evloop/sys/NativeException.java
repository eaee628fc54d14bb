package evloop.sys;

import java.io.IOException;

/**
 * A failed system call: which call, on what, and the errno the kernel gave.
 * The message reads like {@code epoll_ctl(ADD, fd=7): EBADF (Bad file descriptor)}.
 * EAGAIN never arrives here (the wrappers return it as a value), nor does EINTR (they retry).
 */
public final class NativeException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String syscall;
    private final int errno;

    public NativeException(String syscall, String detail, int errno, String description) {
        super(syscall + "(" + detail + "): " + Errno.name(errno) + " (" + description + ")");
        this.syscall = syscall;
        this.errno = errno;
    }

    /** The name of the failed call, e.g. {@code "accept4"}. */
    public String syscall() {
        return syscall;
    }

    /** The errno value, comparable with the constants of {@link Errno}. */
    public int errno() {
        return errno;
    }

    /** The symbolic errno name, e.g. {@code "ECONNRESET"}. */
    public String errnoName() {
        return Errno.name(errno);
    }

    /** True when the peer reset or vanished: ECONNRESET, EPIPE, ETIMEDOUT, ENOTCONN. */
    public boolean isConnectionReset() {
        return errno == Errno.ECONNRESET || errno == Errno.EPIPE
            || errno == Errno.ETIMEDOUT || errno == Errno.ENOTCONN;
    }
}
