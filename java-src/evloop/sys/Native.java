package evloop.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.IntSupplier;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * Checked wrappers over the libc calls in {@link LibC}: the one place where a return value of
 * -1 becomes either a retry (EINTR), a value (EAGAIN, as {@link #WOULD_BLOCK}) or a
 * {@link NativeException} naming the call, its arguments and errno. The calls that make
 * descriptors are {@link Descriptors}', the socket calls {@link Sockets}'; both check through here.
 *
 * <p>Buffers are direct {@link ByteBuffer}s; the wrappers that take one read or write between
 * its position and limit and advance its position, like a channel would. Methods are safe to
 * call from any thread; the buffers passed in belong to the caller.
 */
public final class Native {
    /** What read, write, send and accept return instead of failing with EAGAIN. */
    public static final int WOULD_BLOCK = -1;

    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    private static final int MSG_NOSIGNAL = 0x4000;

    private static final Native DEFAULT = load();

    final LibC libc;
    private final Runtime runtime;
    private final IntSupplier lastErrno;
    /** Holds the 8-byte value 1 that every eventfd wake-up writes; never written after creation, so threads share it. */
    private final ByteBuffer one = constantLong(1);
    private final long oneAddress;

    /** The seam tests use to fake libc (and its errno) without a kernel. */
    Native(LibC libc, Runtime runtime, IntSupplier lastErrno) {
        this.libc = libc;
        this.runtime = runtime;
        this.lastErrno = lastErrno;
        this.oneAddress = Pointer.wrap(runtime, one).address();
    }

    private static Native load() {
        LibC libc = LibraryLoader.create(LibC.class).load("c");
        Runtime runtime = Runtime.getRuntime(libc);
        Native nat = new Native(libc, runtime, () -> LastError.getLastError(runtime));
        nat.warmErrorPath();
        return nat;
    }

    /**
     * Runs the failure path once, on a call that fails harmlessly ({@code close(-1)}: EBADF), so
     * that every class it needs (errno capture, {@link NativeException}, {@link Errno}, the
     * {@code strerror} conversion) is loaded now. The first real failure may be EMFILE, when
     * loading a class from a directory or jar that is not open yet would itself need an fd and
     * fail with {@code NoClassDefFoundError} instead of the exception the caller handles.
     */
    private void warmErrorPath() {
        if (libc.close(-1) == -1) {
            NativeException e = error("close", "fd=-1", errno());
            if (e.errno() != Errno.EBADF || e.errnoName().isEmpty() || e.isConnectionReset()) {
                throw new IllegalStateException("unexpected result of close(-1): " + e.getMessage());
            }
        }
    }

    /**
     * The process-wide instance bound to the C library.
     *
     * @return the instance, loaded with this class
     */
    public static Native get() {
        return DEFAULT;
    }

    /**
     * The address of a direct buffer's first byte (not of its position). It allocates, so hot
     * paths compute it once per buffer and keep it beside the buffer.
     *
     * @param direct a direct buffer
     * @return the native address of its first byte
     * @throws IllegalArgumentException for a heap buffer
     */
    public static long address(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("a native call needs a direct ByteBuffer");
        }
        return Pointer.wrap(DEFAULT.runtime, direct).address();
    }

    /**
     * A direct buffer in native byte order, the kind every wrapper here takes.
     *
     * @param capacity its size in bytes
     * @return a new zeroed buffer, position 0 and limit {@code capacity}
     */
    public static ByteBuffer allocate(int capacity) {
        return ByteBuffer.allocateDirect(capacity).order(ByteOrder.nativeOrder());
    }

    static ByteBuffer constantLong(long value) {
        ByteBuffer b = allocate(8);
        b.putLong(0, value);
        return b;
    }

    int errno() {
        return lastErrno.getAsInt();
    }

    /** Builds the exception for a failed call; every failure path in evloop.sys ends here. */
    NativeException error(String syscall, String detail, int errno) {
        String text = libc.strerror(errno);
        return new NativeException(syscall, detail, errno, text == null ? "unknown error" : text);
    }

    /**
     * Returns {@code rc} when it is not -1 and throws otherwise. Only for calls that never block
     * (socket, bind, listen, setsockopt, ...) and so never fail with EINTR; blocking calls go
     * through the retry loops instead.
     */
    int check(int rc, String syscall, String detail) throws NativeException {
        if (rc == -1) {
            throw error(syscall, detail, errno());
        }
        return rc;
    }

    /**
     * {@link #check(int, String, String)} for a call on one fd, whose detail ("fd=N, what") is
     * built only when it failed: per-connection calls (setsockopt at accept) allocate nothing.
     */
    int check(int rc, String syscall, int fd, String what) throws NativeException {
        if (rc == -1) {
            int errno = errno();
            throw error(syscall, what == null ? "fd=" + fd : "fd=" + fd + ", " + what, errno);
        }
        return rc;
    }

    // ---- waking, waiting, closing ------------------------------------------------------

    /**
     * Adds 1 to an eventfd's counter, waking whoever polls it. Returns false if the counter is
     * saturated (EAGAIN), which still leaves the fd readable, so the wake-up is not lost.
     * {@code write(2)} of 8 bytes; EINTR is retried.
     *
     * @param fd an eventfd
     * @return true if the counter went up, false if it was saturated
     * @throws NativeException naming write, the fd and errno (EBADF for a closed fd)
     */
    public boolean eventfdSignal(int fd) throws NativeException {
        return transfer(WRITE, fd, oneAddress, 8) != WOULD_BLOCK;
    }

    /**
     * {@code poll(2)} on one {@code struct pollfd} at {@code address}, which the caller built;
     * EINTR retries with the time left. Returns whether the fd reported an event.
     */
    boolean poll(long address, int timeoutMillis) throws NativeException {
        long start = timeoutMillis > 0 ? System.nanoTime() : 0;
        int wait = timeoutMillis;
        while (true) {
            int n = libc.poll(address, 1, wait);
            if (n >= 0) {
                return n > 0;
            }
            int errno = errno();
            if (errno != Errno.EINTR) {
                throw error("poll", "timeout=" + wait, errno);
            }
            wait = remaining(timeoutMillis, start);
        }
    }

    /**
     * What is left of a wait of {@code timeoutMillis} that began at {@code startNanos}, for the
     * retry after EINTR: -1 (forever) and 0 (a poll) stay as they are, and a wait whose time is
     * up becomes a poll, which still reports what is ready.
     */
    static int remaining(int timeoutMillis, long startNanos) {
        if (timeoutMillis <= 0) {
            return timeoutMillis;
        }
        long spent = (System.nanoTime() - startNanos) / 1_000_000;
        return (int) Math.max(0, timeoutMillis - spent);
    }

    /**
     * Closes {@code fd}. Never retried: after EINTR Linux has already released the descriptor,
     * so EINTR counts as success.
     *
     * @param fd the fd; the number is free for reuse once this returns, even when it throws
     * @throws NativeException naming close, the fd and errno (EBADF for an fd not open)
     */
    public void close(int fd) throws NativeException {
        if (libc.close(fd) == -1) {
            int errno = errno();
            if (errno != Errno.EINTR) {
                throw error("close", "fd=" + fd, errno);
            }
        }
    }

    /**
     * Closes {@code fd}, ignoring failure; for clean-up paths that already handle another error.
     *
     * @param fd the fd; a negative number (no fd) is ignored
     */
    public void closeQuietly(int fd) {
        if (fd >= 0) {
            libc.close(fd);
        }
    }

    // ---- bytes -------------------------------------------------------------------------

    /**
     * Reads into {@code buf} at its position; returns bytes read, 0 at end of stream, or {@link #WOULD_BLOCK}.
     * {@code read(2)}: EINTR is retried, EAGAIN returned as {@link #WOULD_BLOCK}.
     *
     * @param fd the fd to read
     * @param buf a direct buffer, filled from its position up to its limit; its position
     *     advances by the bytes read
     * @return bytes read, 0 at end of stream, or {@link #WOULD_BLOCK}
     * @throws NativeException naming read, the fd and errno (ECONNRESET, say)
     */
    public int read(int fd, ByteBuffer buf) throws NativeException {
        int n = (int) read(fd, address(buf) + buf.position(), buf.remaining());
        if (n > 0) {
            buf.position(buf.position() + n);
        }
        return n;
    }

    /**
     * Reads {@code length} bytes at most into native memory at {@code address}; see {@link #read(int, ByteBuffer)}.
     *
     * @param fd the fd to read
     * @param address where the bytes go, in memory the caller owns
     * @param length the most bytes to read
     * @return bytes read, 0 at end of stream, or {@link #WOULD_BLOCK}
     * @throws NativeException naming read, the fd and errno
     */
    public long read(int fd, long address, int length) throws NativeException {
        return transfer(READ, fd, address, length);
    }

    private static final int READ = 0;
    private static final int WRITE = 1;
    private static final int SEND = 2;

    /**
     * The one retry loop of read, write and send: EINTR repeats the call, EAGAIN returns
     * {@link #WOULD_BLOCK}, anything else throws. An op code rather than a lambda, so the hot
     * path allocates nothing.
     */
    private long transfer(int op, int fd, long address, int length) throws NativeException {
        while (true) {
            long n = op == READ ? libc.read(fd, address, length)
                : op == WRITE ? libc.write(fd, address, length)
                : libc.send(fd, address, length, MSG_NOSIGNAL);
            if (n >= 0) {
                return n;
            }
            int errno = errno();
            if (errno == Errno.EAGAIN) {
                return WOULD_BLOCK;
            }
            if (errno != Errno.EINTR) {
                String name = op == READ ? "read" : op == WRITE ? "write" : "send";
                throw error(name, "fd=" + fd + ", len=" + length, errno);
            }
        }
    }

    /**
     * Writes from {@code buf} at its position; returns bytes written or {@link #WOULD_BLOCK}.
     * {@code write(2)}: EINTR is retried, EAGAIN returned as {@link #WOULD_BLOCK}. On a socket,
     * {@link #send(int, ByteBuffer)} is the call to use: it passes MSG_NOSIGNAL.
     *
     * @param fd the fd to write
     * @param buf a direct buffer, written from its position up to its limit; its position
     *     advances by the bytes written
     * @return bytes written, which may be fewer than remained, or {@link #WOULD_BLOCK}
     * @throws NativeException naming write, the fd and errno
     */
    public int write(int fd, ByteBuffer buf) throws NativeException {
        int n = (int) transfer(WRITE, fd, address(buf) + buf.position(), buf.remaining());
        if (n > 0) {
            buf.position(buf.position() + n);
        }
        return n;
    }

    /**
     * Sends on a socket with MSG_NOSIGNAL, so a peer that has gone away yields EPIPE as an
     * exception rather than a SIGPIPE for the whole JVM. Returns bytes sent or {@link #WOULD_BLOCK}.
     * {@code send(2)}: EINTR is retried, EAGAIN returned as {@link #WOULD_BLOCK}.
     *
     * @param fd a connected socket
     * @param address the first byte to send, in memory the caller owns
     * @param length how many bytes to send
     * @return bytes sent, which may be fewer than {@code length}, or {@link #WOULD_BLOCK}
     * @throws NativeException naming send, the fd and errno (EPIPE, ECONNRESET, say)
     */
    public long send(int fd, long address, int length) throws NativeException {
        return transfer(SEND, fd, address, length);
    }

    /**
     * {@link #send(int, long, int)} from {@code buf} at its position, advancing it.
     *
     * @param fd a connected socket
     * @param buf a direct buffer, sent from its position up to its limit; its position
     *     advances by the bytes sent
     * @return bytes sent or {@link #WOULD_BLOCK}
     * @throws NativeException naming send, the fd and errno (EPIPE, ECONNRESET, say)
     */
    public int send(int fd, ByteBuffer buf) throws NativeException {
        int n = (int) send(fd, address(buf) + buf.position(), buf.remaining());
        if (n > 0) {
            buf.position(buf.position() + n);
        }
        return n;
    }
}
