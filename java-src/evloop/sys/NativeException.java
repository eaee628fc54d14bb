package evloop.sys;

import java.io.IOException;

/**
 * A failed system call: which call, on what, and the errno the kernel gave.
 * The message reads like {@code epoll_ctl(ADD, fd=7): EBADF (Bad file descriptor)}.
 * EAGAIN never arrives here (the wrappers return it as a value), nor does EINTR (they retry).
 */
public final class NativeException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The name of the failed call. */
    private final String syscall;
    /** The errno value the call failed with. */
    private final int errno;
    /** The text after the errno name, kept for {@link #withDetail}. */
    private final String description;

    /**
     * The exception for a failed call. The wrappers of {@code evloop.sys} build it with the C
     * library's text for errno; it is public so that code above them can report a failure of its
     * own in the same terms (a connect that timed out as ETIMEDOUT, say) and tests can inject one.
     *
     * @param syscall the name of the call, e.g. {@code "accept4"}
     * @param detail its arguments as the message shows them, e.g. {@code "fd=7"}
     * @param errno the errno value, one of {@link Errno}'s constants or any other
     * @param description the text after the errno name, usually {@code strerror(errno)}
     */
    public NativeException(String syscall, String detail, int errno, String description) {
        super(syscall + "(" + detail + "): " + Errno.name(errno) + " (" + description + ")");
        this.syscall = syscall;
        this.errno = errno;
        this.description = description;
    }

    /**
     * The same failure reported on another detail, with this one as its cause: code that made
     * the call on a user's behalf under a name of its own (a Unix socket bound under a
     * temporary name, say) names what the user asked for instead.
     *
     * @param detail the arguments the message should show
     * @return the new exception
     */
    public NativeException withDetail(String detail) {
        NativeException e = new NativeException(syscall, detail, errno, description);
        e.initCause(this);
        return e;
    }

    /**
     * The name of the failed call, e.g. {@code "accept4"}.
     *
     * @return the call's name
     */
    public String syscall() {
        return syscall;
    }

    /**
     * The errno value, comparable with the constants of {@link Errno}.
     *
     * @return the errno value
     */
    public int errno() {
        return errno;
    }

    /**
     * The symbolic errno name, e.g. {@code "ECONNRESET"}.
     *
     * @return the name, as {@link Errno#name(int)} gives it
     */
    public String errnoName() {
        return Errno.name(errno);
    }

    /**
     * True when the peer reset or vanished: ECONNRESET, EPIPE, ETIMEDOUT, ENOTCONN.
     *
     * @return whether errno is one of those four
     */
    public boolean isConnectionReset() {
        return errno == Errno.ECONNRESET || errno == Errno.EPIPE
            || errno == Errno.ETIMEDOUT || errno == Errno.ENOTCONN;
    }
}
