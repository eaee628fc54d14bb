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
     * A listening TCP socket bound to {@code addr} (port 0: the kernel picks one) with
     * SO_REUSEADDR, so a restarted server re-binds while old connections sit in TIME_WAIT.
     */
    public int listen(InetSocketAddress addr, int backlog, boolean reusePort) throws NativeException {
        int fd = nat.check(nat.libc.socket(SockAddr.family(addr), SOCK_STREAM | FLAGS, 0),
            "socket", "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC");
        try {
            setFlag(fd, SOL_SOCKET, SO_REUSEADDR, true, "SO_REUSEADDR");
            if (reusePort) {
                setFlag(fd, SOL_SOCKET, SO_REUSEPORT, true, "SO_REUSEPORT");
            }
            SockAddr sa = new SockAddr();
            int len = sa.encode(addr);
            nat.check(nat.libc.bind(fd, sa.address, len), "bind", "fd=" + fd + ", " + addr);
            nat.check(nat.libc.listen(fd, backlog), "listen", "fd=" + fd + ", backlog=" + backlog);
            return fd;
        } catch (NativeException | RuntimeException e) {
            nat.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Accepts one connection as a non-blocking, close-on-exec socket, writing the peer's address
     * into {@code peer}. Returns the new fd or {@link Native#WOULD_BLOCK}; EMFILE and ENFILE
     * (out of descriptors) arrive as exceptions the caller must not spin on.
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

    /** The address a socket is bound to; reads back the port the kernel chose for port 0. */
    public InetSocketAddress localAddress(int fd) throws NativeException {
        SockAddr sa = new SockAddr();
        sa.resetLength();
        nat.check(nat.libc.getsockname(fd, sa.address, sa.lengthAddress), "getsockname", "fd=" + fd);
        return sa.decode();
    }

    /** TCP_NODELAY: send small writes at once instead of waiting for Nagle's coalescing. */
    public void setNoDelay(int fd, boolean on) throws NativeException {
        setFlag(fd, IPPROTO_TCP, TCP_NODELAY, on, "TCP_NODELAY");
    }

    /** SO_LINGER with a zero timeout: the next close resets the connection (RST) at once. */
    public void setLingerAbort(int fd) throws NativeException {
        nat.check(nat.libc.setsockopt(fd, SOL_SOCKET, SO_LINGER, LINGER_ABORT_ADDRESS, 8),
            "setsockopt", "fd=" + fd + ", SO_LINGER");
    }

    /** Half-closes the sending side (FIN) while reading goes on. */
    public void shutdownOutput(int fd) throws NativeException {
        nat.check(nat.libc.shutdown(fd, SHUT_WR), "shutdown", "fd=" + fd + ", SHUT_WR");
    }

    private void setFlag(int fd, int level, int option, boolean on, String name) throws NativeException {
        nat.check(nat.libc.setsockopt(fd, level, option, on ? INT_ONE_ADDRESS : INT_ZERO_ADDRESS, 4),
            "setsockopt", "fd=" + fd + ", " + name);
    }
}
