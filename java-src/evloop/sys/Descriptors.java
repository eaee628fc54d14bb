package evloop.sys;

import java.nio.ByteBuffer;
import java.util.concurrent.locks.LockSupport;

/**
 * The calls that make descriptors, checked like {@link Native}'s: an eventfd, a pipe, a socket
 * pair, a locked directory, each non-blocking where that applies and always close-on-exec; and
 * {@link #park}, which swaps what a number refers to for a placeholder so that the number can be
 * closed later. Closing is {@link Native#close}'s, whoever made the fd.
 */
public final class Descriptors {
    private static final int O_DIRECTORY = 0x10000;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    private static final int FLAGS = Native.O_NONBLOCK | Native.O_CLOEXEC;

    private static final Descriptors DEFAULT = new Descriptors(Native.get());

    private final Native nat;
    /** See {@link #park}: kept open for the life of the process; -1 until first needed. */
    private int placeholder = -1;

    /** Over {@code nat}; tests pass one with a fake libc. */
    Descriptors(Native nat) {
        this.nat = nat;
    }

    /**
     * The process-wide instance, over {@link Native#get()}.
     *
     * @return the instance
     */
    public static Descriptors get() {
        return DEFAULT;
    }

    /**
     * Creates a non-blocking, close-on-exec eventfd with counter {@code initial} ({@code eventfd(2)}).
     *
     * @param initial the counter's start value; above 0 the fd starts readable
     * @return the new fd, which the caller owns
     * @throws NativeException naming eventfd and errno (EMFILE, ENFILE)
     */
    public int eventfd(int initial) throws NativeException {
        return nat.check(nat.libc.eventfd(initial, FLAGS), "eventfd", "initval=" + initial);
    }

    /**
     * A non-blocking, close-on-exec pipe: {@code [readEnd, writeEnd]} ({@code pipe2(2)}).
     *
     * @return the two fds, which the caller owns
     * @throws NativeException naming pipe2 and errno (EMFILE, ENFILE)
     */
    public int[] pipe() throws NativeException {
        ByteBuffer fds = Native.allocate(8);
        nat.check(nat.libc.pipe2(Native.address(fds), FLAGS), "pipe2", "O_NONBLOCK|O_CLOEXEC");
        return new int[] {fds.getInt(0), fds.getInt(4)};
    }

    /**
     * A connected pair of non-blocking, close-on-exec Unix stream sockets ({@code socketpair(2)}).
     *
     * @return the two fds, which the caller owns
     * @throws NativeException naming socketpair and errno (EMFILE, ENFILE)
     */
    public int[] socketPair() throws NativeException {
        ByteBuffer fds = Native.allocate(8);
        nat.check(nat.libc.socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | FLAGS, 0, Native.address(fds)),
            "socketpair", "AF_UNIX, SOCK_STREAM");
        return new int[] {fds.getInt(0), fds.getInt(4)};
    }

    /**
     * Opens a directory and takes an exclusive {@code flock(2)} on it, waiting at most
     * {@code timeoutMillis} for another holder: processes that take the same lock around a few
     * steps in that directory (publishing a Unix socket file) never interleave them. flock
     * locks belong to an open file description, so two opens in one process exclude each other
     * too. The lock is held until the returned fd is closed.
     *
     * @param path a directory
     * @param timeoutMillis how long to wait for another holder to let go
     * @return the directory's fd, holding the lock; the caller owns it
     * @throws NativeException naming open (EACCES, ENOENT, say) or flock (EWOULDBLOCK when the
     *     wait timed out) with the path
     */
    public int lockDirectory(String path, long timeoutMillis) throws NativeException {
        int fd = nat.check(nat.libc.open(path, O_DIRECTORY | Native.O_CLOEXEC), "open",
            path + ", O_RDONLY|O_DIRECTORY");
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (nat.libc.flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int errno = nat.errno();
            if (errno == Errno.EINTR) {
                continue;
            }
            if (errno != Errno.EAGAIN || System.nanoTime() - deadline > 0) {
                nat.closeQuietly(fd);
                throw nat.error("flock", path + ", LOCK_EX", errno);
            }
            // Holders keep it for a few syscalls: poll rather than block, so the wait is bounded.
            LockSupport.parkNanos(1_000_000);
        }
        return fd;
    }

    /**
     * Releases what {@code fd} refers to (a socket closes, its port is free, its epoll
     * registrations go) while keeping the number taken: {@code dup3} puts a placeholder, a
     * socket whose peer is gone, in its place, so reads see end of stream and sends EPIPE. The
     * number itself is then closed later, by {@link Native#close}, once nothing can mistake a
     * new fd given that number for the old one (Java's own channels do this on close, for the
     * same reason). EINTR is retried: unlike close, a repeated dup3 onto a number still held is
     * harmless.
     *
     * @param fd an open fd the caller owns and will close
     * @return false if nothing changed: no placeholder could be made (out of fds), or dup3
     *     failed; the fd is then as it was, to be closed as usual
     */
    public boolean park(int fd) {
        int placeholder = placeholder();
        if (placeholder < 0 || fd < 0) {
            return false;
        }
        while (true) {
            if (nat.libc.dup3(placeholder, fd, Native.O_CLOEXEC) >= 0) {
                return true;
            }
            if (nat.errno() != Errno.EINTR) {
                return false;
            }
        }
    }

    /**
     * Makes {@link #park}'s placeholder now, while fds are to be had: a server stopped because
     * the process ran out of them would otherwise find none to make.
     *
     * @return true if the placeholder exists
     */
    public boolean prepareParking() {
        return placeholder() >= 0;
    }

    /** The placeholder {@link #park} puts in place of an fd, made once; -1 if it cannot be made now. */
    private synchronized int placeholder() {
        if (placeholder < 0) {
            try {
                int[] pair = socketPair();
                nat.closeQuietly(pair[1]);
                placeholder = pair[0];
            } catch (NativeException outOfFds) {
                return -1;   // tried again next time
            }
        }
        return placeholder;
    }
}
