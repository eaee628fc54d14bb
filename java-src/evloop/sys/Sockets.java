package evloop.sys;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The socket calls a TCP server needs, checked like {@link Native}'s: every descriptor is
 * created non-blocking and close-on-exec, accept returns {@link Native#WOULD_BLOCK} on EAGAIN,
 * and failures throw {@link NativeException} naming the call.
 */
public final class Sockets {
    private static final int SOCK_STREAM = 1;
    private static final int SOL_SOCKET = 1;
    private static final int SO_REUSEADDR = 2;
    private static final int SO_LINGER = 13;
    private static final int SO_REUSEPORT = 15;
    private static final int SO_ERROR = 4;
    private static final int SO_PEERCRED = 17;
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_NODELAY = 1;
    private static final int SHUT_WR = 1;
    private static final int FLAGS = Native.O_NONBLOCK | Native.O_CLOEXEC;

    private static final Sockets DEFAULT = new Sockets(Native.get());

    // Option values the kernel only reads: shared by all threads, never written after creation.
    private static final ByteBuffer INT_ONE = intConstant(1);
    private static final ByteBuffer INT_ZERO = intConstant(0);
    /** struct linger {l_onoff = 1, l_linger = 0}: close sends RST instead of FIN. */
    private static final ByteBuffer LINGER_ABORT = lingerAbort();
    private static final long INT_ONE_ADDRESS = Native.address(INT_ONE);
    private static final long INT_ZERO_ADDRESS = Native.address(INT_ZERO);
    private static final long LINGER_ABORT_ADDRESS = Native.address(LINGER_ABORT);

    private final Native nat;

    private Sockets(Native nat) {
        this.nat = nat;
    }

    /**
     * The process-wide instance, over {@link Native#get()}.
     *
     * @return the instance
     */
    public static Sockets get() {
        return DEFAULT;
    }

    private static ByteBuffer intConstant(int v) {
        ByteBuffer b = Native.allocate(4);
        b.putInt(0, v);
        return b;
    }

    private static ByteBuffer lingerAbort() {
        ByteBuffer b = Native.allocate(8);
        b.putInt(0, 1);
        b.putInt(4, 0);
        return b;
    }

    /**
     * A new non-blocking, close-on-exec stream socket for {@code addr}'s family ({@code socket(2)}).
     *
     * @param addr an IPv4 or IPv6 address; only its family counts
     * @return the new fd, which the caller owns
     * @throws NativeException naming socket and errno (EMFILE, EAFNOSUPPORT, say)
     */
    public int stream(InetSocketAddress addr) throws NativeException {
        return stream(SockAddr.family(addr));
    }

    private int stream(int family) throws NativeException {
        return nat.check(nat.libc.socket(family, SOCK_STREAM | FLAGS, 0), "socket",
            (family == SockAddr.AF_UNIX ? "AF_UNIX" : family == SockAddr.AF_INET ? "AF_INET" : "AF_INET6")
                + ", SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC");
    }

    /**
     * A new non-blocking, close-on-exec Unix stream socket ({@code socket(2)}).
     *
     * @return the new fd, which the caller owns
     * @throws NativeException naming socket and errno (EMFILE, say)
     */
    public int unixStream() throws NativeException {
        return stream(SockAddr.AF_UNIX);
    }

    /**
     * Binds {@code fd} to an IP address and port (for a client's chosen local address, say).
     *
     * @param fd a socket of {@code addr}'s family, not yet bound
     * @param addr a resolved address; port 0 lets the kernel pick one
     * @throws NativeException naming bind, the address and errno (EADDRINUSE, EADDRNOTAVAIL, say)
     * @throws IllegalArgumentException for an unresolved address
     */
    public void bind(int fd, InetSocketAddress addr) throws NativeException {
        SockAddr sa = new SockAddr();
        int len = sa.encode(addr);
        nat.check(nat.libc.bind(fd, sa.address, len), "bind", addr.getAddress().getHostAddress() + ":" + addr.getPort());
    }

    /**
     * Binds {@code fd} to a Unix socket path, or an abstract name written {@code @name}.
     *
     * @param fd a Unix socket, not yet bound
     * @param path a path or {@code @name} of 1 to {@value SockAddr#MAX_UNIX_PATH} bytes
     * @throws NativeException naming bind, the path and errno (EADDRINUSE when the file exists,
     *     EACCES, ENOENT for a missing directory)
     * @throws IllegalArgumentException for a path that is empty or too long
     */
    public void bindUnix(int fd, String path) throws NativeException {
        SockAddr sa = new SockAddr();
        int len = sa.encodeUnix(path);
        nat.check(nat.libc.bind(fd, sa.address, len), "bind", path);
    }

    /**
     * {@code listen(2)}: makes a bound socket accept connections.
     *
     * @param fd a bound stream socket
     * @param backlog the length of the queue of connections not yet accepted (the kernel caps it
     *     at {@code net.core.somaxconn})
     * @throws NativeException naming listen, the fd, the backlog and errno
     */
    public void listen(int fd, int backlog) throws NativeException {
        nat.check(nat.libc.listen(fd, backlog), "listen", "fd=" + fd + ", backlog=" + backlog);
    }

    /**
     * Starts connecting a non-blocking socket: true if it connected at once, false if the
     * connection is under way (EINPROGRESS: wait for the fd to be writable, then read
     * {@link #socketError}). Failures name the target, as {@code connect(127.0.0.1:1): ECONNREFUSED}.
     * EINTR counts as under way: the kernel goes on connecting, and a second call would only
     * report EALREADY.
     *
     * @param fd a non-blocking socket of {@code addr}'s family
     * @param addr a resolved address
     * @return true if connected, false if under way
     * @throws NativeException naming connect, the target and errno (ECONNREFUSED, ENETUNREACH, say)
     * @throws IllegalArgumentException for an unresolved address
     */
    public boolean connect(int fd, InetSocketAddress addr) throws NativeException {
        SockAddr sa = new SockAddr();
        int len = sa.encode(addr);
        return connect(fd, sa, len, addr.getAddress().getHostAddress() + ":" + addr.getPort());
    }

    /**
     * {@link #connect(int, InetSocketAddress)} to a Unix socket path or abstract name.
     *
     * @param fd a non-blocking Unix socket
     * @param path a path or {@code @name} of 1 to {@value SockAddr#MAX_UNIX_PATH} bytes
     * @return true if connected, false if under way
     * @throws NativeException naming connect, the path and errno (ENOENT: no such file,
     *     ECONNREFUSED: nobody listens there, EAGAIN: the listener's backlog is full)
     * @throws IllegalArgumentException for a path that is empty or too long
     */
    public boolean connectUnix(int fd, String path) throws NativeException {
        SockAddr sa = new SockAddr();
        int len = sa.encodeUnix(path);
        return connect(fd, sa, len, path);
    }

    private boolean connect(int fd, SockAddr sa, int len, String target) throws NativeException {
        while (true) {
            if (nat.libc.connect(fd, sa.address, len) == 0) {
                return true;
            }
            int errno = nat.errno();
            if (errno == Errno.EINPROGRESS) {
                return false;
            }
            // EINTR: the connection goes on in the background, as for EINPROGRESS; a second
            // connect() would report EALREADY. Wait for writability like EINPROGRESS.
            if (errno == Errno.EINTR) {
                return false;
            }
            throw nat.error("connect", target, errno);
        }
    }

    /**
     * The pending error of a socket (SO_ERROR), which reading clears: 0 when a connect succeeded.
     *
     * @param fd a socket
     * @return the pending errno value, or 0
     * @throws NativeException naming getsockopt, the fd and errno (EBADF, ENOTSOCK)
     */
    public int socketError(int fd) throws NativeException {
        ByteBuffer b = Native.allocate(8);
        long a = Native.address(b);
        b.putInt(4, 4);
        nat.check(nat.libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, a, a + 4), "getsockopt", fd, "SO_ERROR");
        return b.getInt(0);
    }

    /**
     * The error a failed connect left in SO_ERROR, as the exception connect(2) would have thrown.
     *
     * @param errno what {@link #socketError} returned, not 0
     * @param target the address as the message should show it, e.g. {@code 127.0.0.1:1}
     * @return the exception, for the caller to throw or hand on
     */
    public NativeException connectError(int errno, String target) {
        return nat.error("connect", target, errno);
    }

    /**
     * The peer's credentials on a Unix socket (SO_PEERCRED), as the kernel recorded them at
     * connect or listen time: {@code {pid, uid, gid}}.
     *
     * @param fd a connected Unix socket (a TCP socket has no credentials to report)
     * @return {@code {pid, uid, gid}} of the process at the other end
     * @throws NativeException naming getsockopt, the fd and errno
     */
    public int[] peerCredentials(int fd) throws NativeException {
        ByteBuffer b = Native.allocate(16);
        long a = Native.address(b);
        b.putInt(12, 12);
        nat.check(nat.libc.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, a, a + 12), "getsockopt", fd, "SO_PEERCRED");
        return new int[] {b.getInt(0), b.getInt(4), b.getInt(8)};
    }

    /**
     * A listening TCP socket bound to {@code addr} (port 0: the kernel picks one) with
     * SO_REUSEADDR, so a restarted server re-binds while old connections sit in TIME_WAIT.
     * On failure the socket is closed before the exception leaves.
     *
     * @param addr a resolved address
     * @param backlog as for {@link #listen(int, int)}
     * @param reusePort whether to set SO_REUSEPORT as well, so several sockets (one per loop,
     *     say) can bind the same address and the kernel spreads connections over them
     * @return the listening fd, which the caller owns
     * @throws NativeException naming the call that failed (socket, setsockopt, bind, listen) and
     *     errno (EADDRINUSE, EACCES for a privileged port, say)
     * @throws IllegalArgumentException for an unresolved address
     */
    public int listen(InetSocketAddress addr, int backlog, boolean reusePort) throws NativeException {
        int fd = stream(addr);
        try {
            setFlag(fd, SOL_SOCKET, SO_REUSEADDR, true, "SO_REUSEADDR");
            if (reusePort) {
                setFlag(fd, SOL_SOCKET, SO_REUSEPORT, true, "SO_REUSEPORT");
            }
            SockAddr sa = new SockAddr();
            int len = sa.encode(addr);
            nat.check(nat.libc.bind(fd, sa.address, len), "bind", addr.getAddress().getHostAddress() + ":" + addr.getPort());
            listen(fd, backlog);
            return fd;
        } catch (NativeException | RuntimeException e) {
            nat.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Accepts one connection as a non-blocking, close-on-exec socket, writing the peer's address
     * into {@code peer}. Returns the new fd or {@link Native#WOULD_BLOCK}; EMFILE and ENFILE
     * (out of descriptors) arrive as exceptions the caller must not spin on. {@code accept4(2)}:
     * EINTR is retried.
     *
     * @param listenFd a listening socket
     * @param peer receives the peer's address; the caller's to reuse for every accept
     * @return the new fd, which the caller owns, or {@link Native#WOULD_BLOCK} when none is pending
     * @throws NativeException naming accept4, the fd and errno: EMFILE, ENFILE, ENOBUFS, ENOMEM,
     *     or one that concerns the new connection only (ECONNABORTED, say)
     */
    public int accept(int listenFd, SockAddr peer) throws NativeException {
        while (true) {
            peer.resetLength();
            int fd = nat.libc.accept4(listenFd, peer.address, peer.lengthAddress, FLAGS);
            if (fd >= 0) {
                return fd;
            }
            int errno = nat.errno();
            if (errno == Errno.EAGAIN) {
                return Native.WOULD_BLOCK;
            }
            if (errno != Errno.EINTR) {
                throw nat.error("accept4", "fd=" + listenFd, errno);
            }
        }
    }

    /**
     * The address a socket is bound to; reads back the port the kernel chose for port 0.
     *
     * @param fd a bound socket
     * @return the address, or null for a socket that is neither IPv4 nor IPv6 (a Unix socket)
     * @throws NativeException naming getsockname, the fd and errno
     */
    public InetSocketAddress localAddress(int fd) throws NativeException {
        SockAddr sa = new SockAddr();
        sa.resetLength();
        nat.check(nat.libc.getsockname(fd, sa.address, sa.lengthAddress), "getsockname", fd, null);
        return sa.decode();
    }

    /**
     * TCP_NODELAY: send small writes at once instead of waiting for Nagle's coalescing.
     *
     * @param fd a TCP socket
     * @param on true to send at once, false for Nagle's algorithm (the kernel's default)
     * @throws NativeException naming setsockopt, the fd and errno
     */
    public void setNoDelay(int fd, boolean on) throws NativeException {
        setFlag(fd, IPPROTO_TCP, TCP_NODELAY, on, "TCP_NODELAY");
    }

    /**
     * SO_LINGER with a zero timeout: the next close resets the connection (RST) at once.
     *
     * @param fd a connected socket
     * @throws NativeException naming setsockopt, the fd and errno
     */
    public void setLingerAbort(int fd) throws NativeException {
        nat.check(nat.libc.setsockopt(fd, SOL_SOCKET, SO_LINGER, LINGER_ABORT_ADDRESS, 8),
            "setsockopt", fd, "SO_LINGER");
    }

    /**
     * Half-closes the sending side (FIN) while reading goes on: {@code shutdown(SHUT_WR)}.
     *
     * @param fd a connected socket
     * @throws NativeException naming shutdown, the fd and errno (ENOTCONN when not connected)
     */
    public void shutdownOutput(int fd) throws NativeException {
        nat.check(nat.libc.shutdown(fd, SHUT_WR), "shutdown", fd, "SHUT_WR");
    }

    private void setFlag(int fd, int level, int option, boolean on, String name) throws NativeException {
        nat.check(nat.libc.setsockopt(fd, level, option, on ? INT_ONE_ADDRESS : INT_ZERO_ADDRESS, 4),
            "setsockopt", fd, name);
    }
}
