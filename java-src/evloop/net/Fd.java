package evloop.net;

import evloop.sys.Native;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * A file descriptor with exactly one owner, which closes it exactly once.
 *
 * <p>An fd is a small integer the kernel hands out again as soon as it is closed, so closing a
 * number twice can close somebody else's socket. {@link #close()} therefore swaps the number
 * for -1 atomically before calling {@code close(2)}: the first call closes, every later call
 * (from any thread) is a no-op, and {@link #fd()} answers -1 from then on, so a late syscall on
 * it fails with EBADF instead of reaching a reused number. This is the rule the whole of evloop
 * keeps: whoever opens an fd wraps it here and is the only one to close it; an event loop only
 * removes fds from its tables (see {@link evloop.FdHandler#failed}), and closes one only when
 * its owner hands it over to be closed once it is out of them ({@link #closeOn}).
 */
public final class Fd implements AutoCloseable {
    private static final VarHandle NUMBER;

    static {
        try {
            NUMBER = MethodHandles.lookup().findVarHandle(Fd.class, "number", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through NUMBER
    private volatile int number;

    private Fd(int number) {
        this.number = number;
    }

    /**
     * Takes ownership of {@code number}, an fd nobody else will close.
     *
     * @param number an open fd, which from now on only the returned {@code Fd} closes
     * @return the owner
     * @throws IllegalArgumentException for a negative number
     */
    public static Fd own(int number) {
        if (number < 0) {
            throw new IllegalArgumentException("not an fd: " + number);
        }
        return new Fd(number);
    }

    /**
     * The number, for the loop's tables and for syscalls; -1 once closed.
     *
     * @return the fd, or -1 once closed
     */
    public int fd() {
        return number;
    }

    /**
     * True until {@link #close()}.
     *
     * @return whether the fd is still open
     */
    public boolean isOpen() {
        return number >= 0;
    }

    /**
     * Reads into {@code buf} at its position. Returns the bytes read, 0 at end of stream, or
     * {@link Net#WOULD_BLOCK} when nothing is there (EAGAIN is a value, not an error). EINTR is
     * retried.
     *
     * @param buf a direct buffer, filled from its position up to its limit; its position
     *     advances by the bytes read
     * @return bytes read, 0 at end of stream, or {@link Net#WOULD_BLOCK}
     * @throws IOException a {@link evloop.sys.NativeException} naming read, the fd and errno
     *     (ECONNRESET, say; EBADF once closed)
     */
    public int read(ByteBuffer buf) throws IOException {
        return Native.get().read(number, buf);
    }

    /**
     * Writes from {@code buf} at its position; returns the bytes written or {@link Net#WOULD_BLOCK}.
     * EINTR is retried. On a socket, {@link #send} is the call to use: it passes MSG_NOSIGNAL.
     *
     * @param buf a direct buffer, written from its position up to its limit; its position
     *     advances by the bytes written
     * @return bytes written, which may be fewer than remained, or {@link Net#WOULD_BLOCK}
     * @throws IOException a {@link evloop.sys.NativeException} naming write, the fd and errno
     *     (EBADF once closed)
     */
    public int write(ByteBuffer buf) throws IOException {
        return Native.get().write(number, buf);
    }

    /**
     * Takes the fd out of {@code loop}'s tables, then closes it: the way an owner lets go of a
     * registered fd, from any thread. From now on this {@code Fd} answers -1, and the number
     * belongs to the loop until it has left its tables (see {@link evloop.EventLoop#removeAndClose}):
     * off the loop's thread the socket is released at once, but the number may be freed a
     * turn later, so that no fd given it next can be confused with this one.
     *
     * @param loop the loop it is registered with
     */
    public void closeOn(evloop.EventLoop loop) {
        int n = (int) NUMBER.getAndSet(this, -1);
        if (n >= 0) {
            loop.removeAndClose(n);
        }
    }

    /**
     * Sends from {@code buf} at its position on a socket, with MSG_NOSIGNAL (a vanished peer is
     * EPIPE, never SIGPIPE); returns the bytes sent or {@link Net#WOULD_BLOCK}.
     *
     * @param buf a direct buffer
     * @return bytes sent or {@link Net#WOULD_BLOCK}
     * @throws IOException naming the call and errno
     */
    public int send(ByteBuffer buf) throws IOException {
        return Native.get().send(number, buf);
    }

    /**
     * Closes the fd the first time it is called and does nothing after that. Never retried,
     * not even on EINTR: Linux has released the number by then, and a retry could close a
     * number that another thread has just been given. Failures are ignored for the same reason:
     * the number is gone either way.
     */
    @Override
    public void close() {
        int n = (int) NUMBER.getAndSet(this, -1);
        if (n >= 0) {
            Native.get().closeQuietly(n);
        }
    }

    @Override
    public String toString() {
        int n = number;
        return n >= 0 ? "Fd[" + n + "]" : "Fd[closed]";
    }
}
