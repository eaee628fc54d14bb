package evloop.net;

import evloop.sys.Descriptors;
import evloop.sys.Native;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The socket calls a program written directly on the loop's tables needs (the Chicken echo
 * server in {@code evloop.chicken} is one), returning owned {@link Fd}s. Every fd is created
 * non-blocking and close-on-exec; failures throw {@link evloop.sys.NativeException}, an
 * {@link IOException} that names the call and the errno. This is the public face of the native
 * layer, which is otherwise an implementation detail and may change.
 */
public final class Net {
    /** What reads, writes and accepts return instead of failing with EAGAIN. */
    public static final int WOULD_BLOCK = Native.WOULD_BLOCK;

    /** The peer address accept4 writes; the caller never sees it, so one per thread serves every call. */
    private static final ThreadLocal<SockAddr> PEER = ThreadLocal.withInitial(SockAddr::new);

    private Net() {}

    /**
     * A listening TCP socket on {@code address} (port 0: the kernel picks one) with SO_REUSEADDR.
     *
     * @param address a resolved IPv4 or IPv6 address
     * @param backlog the length of the queue of connections not yet accepted
     * @return the listening socket, which the caller owns
     * @throws IOException naming the call that failed (socket, setsockopt, bind or listen) and
     *     errno (EADDRINUSE, EACCES, say)
     */
    public static Fd listen(InetSocketAddress address, int backlog) throws IOException {
        return Fd.own(Sockets.get().listen(address, backlog, false));
    }

    /**
     * The next pending connection on {@code listener}, or null when none is waiting. EINTR is
     * retried; EAGAIN is the null.
     *
     * @param listener a listening socket
     * @return the connection's socket, which the caller owns, or null
     * @throws IOException naming accept4 and errno: EMFILE or ENFILE when out of fds (do not
     *     retry at once: the connection is still pending), or one that concerns this connection
     *     only (ECONNABORTED, say)
     */
    public static Fd accept(Fd listener) throws IOException {
        int fd = Sockets.get().accept(listener.fd(), PEER.get());
        return fd == WOULD_BLOCK ? null : Fd.own(fd);
    }

    /**
     * The address {@code socket} is bound to (the kernel's choice of port after binding port 0).
     *
     * @param socket a bound IPv4 or IPv6 socket
     * @return its address, or null for a socket of another family
     * @throws IOException naming getsockname and errno
     */
    public static InetSocketAddress localAddress(Fd socket) throws IOException {
        return Sockets.get().localAddress(socket.fd());
    }

    /**
     * A non-blocking pipe: {@code [readEnd, writeEnd]}.
     *
     * @return the two ends, which the caller owns
     * @throws IOException naming pipe2 and errno (EMFILE, ENFILE)
     */
    public static Fd[] pipe() throws IOException {
        int[] p = Descriptors.get().pipe();
        return new Fd[] {Fd.own(p[0]), Fd.own(p[1])};
    }

    /**
     * A connected pair of non-blocking Unix stream sockets.
     *
     * @return the two sockets, which the caller owns
     * @throws IOException naming socketpair and errno (EMFILE, ENFILE)
     */
    public static Fd[] socketPair() throws IOException {
        int[] p = Descriptors.get().socketPair();
        return new Fd[] {Fd.own(p[0]), Fd.own(p[1])};
    }
}
