package evloop.sys;

import jnr.ffi.annotations.IgnoreError;
import jnr.ffi.types.intptr_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The raw libc calls evloop makes, bound by JNR-FFI. Nothing outside {@code evloop.sys}
 * sees this interface: {@link Native} and {@link Sockets} wrap every call, retry EINTR,
 * turn EAGAIN into a value and every other failure into a {@link NativeException}.
 *
 * <p>Pointers are passed as raw addresses ({@code @intptr_t long}) into direct buffers the
 * callers own, so a call marshals no objects. JNR saves errno after every call except those
 * marked {@link IgnoreError}, which cannot fail in a way we would act on.
 *
 * <p>Public only because JNR generates the implementation in a class loader of its own, which
 * must see the interface; no code outside this package calls it.
 */
public interface LibC {
    /**
     * {@code epoll_create1(2)}: a new epoll set.
     *
     * @param flags 0 or EPOLL_CLOEXEC
     * @return the epoll fd, or -1 with errno set
     */
    int epoll_create1(int flags);

    /**
     * {@code epoll_ctl(2)}: adds, changes or removes an fd of an epoll set.
     *
     * @param epfd the epoll fd
     * @param op EPOLL_CTL_ADD, EPOLL_CTL_DEL or EPOLL_CTL_MOD
     * @param fd the fd concerned
     * @param event address of a {@code struct epoll_event} (ignored for EPOLL_CTL_DEL)
     * @return 0, or -1 with errno set
     */
    int epoll_ctl(int epfd, int op, int fd, @intptr_t long event);

    /**
     * {@code epoll_wait(2)}: waits for events.
     *
     * @param epfd the epoll fd
     * @param events address of an array of {@code maxevents} {@code struct epoll_event}s to fill
     * @param maxevents the array's length
     * @param timeoutMillis -1: forever, 0: poll
     * @return the number of entries filled (0 on timeout), or -1 with errno set (EINTR on a signal)
     */
    int epoll_wait(int epfd, @intptr_t long events, int maxevents, int timeoutMillis);

    /**
     * {@code eventfd(2)}: a new event counter fd.
     *
     * @param initval the counter's start value
     * @param flags EFD_NONBLOCK, EFD_CLOEXEC
     * @return the fd, or -1 with errno set
     */
    int eventfd(int initval, int flags);

    /**
     * {@code poll(2)}: waits for events on a few fds.
     *
     * @param fds address of an array of {@code struct pollfd}
     * @param nfds the array's length
     * @param timeoutMillis -1: forever, 0: poll
     * @return the number of fds with events (0 on timeout), or -1 with errno set
     */
    int poll(@intptr_t long fds, long nfds, int timeoutMillis);

    /**
     * {@code read(2)}.
     *
     * @param fd the fd
     * @param buf address to read into
     * @param count the most bytes to read
     * @return bytes read, 0 at end of stream, or -1 with errno set (EAGAIN when a non-blocking
     *     fd has nothing)
     */
    @ssize_t long read(int fd, @intptr_t long buf, @size_t long count);

    /**
     * {@code write(2)}.
     *
     * @param fd the fd
     * @param buf address of the bytes
     * @param count how many bytes
     * @return bytes written, or -1 with errno set (EAGAIN when a non-blocking fd is full)
     */
    @ssize_t long write(int fd, @intptr_t long buf, @size_t long count);

    /**
     * {@code send(2)}: write on a socket, with flags.
     *
     * @param fd a socket
     * @param buf address of the bytes
     * @param len how many bytes
     * @param flags MSG_NOSIGNAL, say
     * @return bytes sent, or -1 with errno set
     */
    @ssize_t long send(int fd, @intptr_t long buf, @size_t long len, int flags);

    /**
     * {@code close(2)}. Never retried: the fd is released even when it fails.
     *
     * @param fd the fd
     * @return 0, or -1 with errno set
     */
    int close(int fd);

    /**
     * {@code dup3(2)}: makes {@code newfd} refer to what {@code oldfd} does, closing (silently,
     * and atomically with the swap) what {@code newfd} referred to before.
     *
     * @param oldfd the fd to duplicate
     * @param newfd the number to reuse
     * @param flags O_CLOEXEC
     * @return newfd, or -1 with errno set
     */
    int dup3(int oldfd, int newfd, int flags);

    /**
     * {@code pipe2(2)}: a new pipe.
     *
     * @param fds address of two ints that receive the read end and the write end
     * @param flags O_NONBLOCK, O_CLOEXEC
     * @return 0, or -1 with errno set
     */
    int pipe2(@intptr_t long fds, int flags);

    /**
     * {@code socketpair(2)}: two connected sockets.
     *
     * @param domain AF_UNIX
     * @param type SOCK_STREAM, or-ed with SOCK_NONBLOCK and SOCK_CLOEXEC
     * @param protocol 0
     * @param fds address of two ints that receive the sockets
     * @return 0, or -1 with errno set
     */
    int socketpair(int domain, int type, int protocol, @intptr_t long fds);

    /**
     * {@code socket(2)}: a new socket.
     *
     * @param domain AF_UNIX, AF_INET or AF_INET6
     * @param type SOCK_STREAM, or-ed with SOCK_NONBLOCK and SOCK_CLOEXEC
     * @param protocol 0
     * @return the fd, or -1 with errno set
     */
    int socket(int domain, int type, int protocol);

    /**
     * {@code setsockopt(2)}.
     *
     * @param fd a socket
     * @param level SOL_SOCKET or IPPROTO_TCP
     * @param optname the option
     * @param optval address of the value
     * @param optlen the value's size in bytes
     * @return 0, or -1 with errno set
     */
    int setsockopt(int fd, int level, int optname, @intptr_t long optval, int optlen);

    /**
     * {@code getsockopt(2)}.
     *
     * @param fd a socket
     * @param level SOL_SOCKET
     * @param optname the option
     * @param optval address that receives the value
     * @param optlen address of a {@code socklen_t}: the room at {@code optval} before, the
     *     value's size after
     * @return 0, or -1 with errno set
     */
    int getsockopt(int fd, int level, int optname, @intptr_t long optval, @intptr_t long optlen);

    /**
     * {@code bind(2)}.
     *
     * @param fd a socket
     * @param addr address of a {@code struct sockaddr} ({@link SockAddr})
     * @param addrlen its length
     * @return 0, or -1 with errno set
     */
    int bind(int fd, @intptr_t long addr, int addrlen);

    /**
     * {@code listen(2)}.
     *
     * @param fd a bound socket
     * @param backlog the length of the queue of pending connections
     * @return 0, or -1 with errno set
     */
    int listen(int fd, int backlog);

    /**
     * {@code connect(2)}.
     *
     * @param fd a socket
     * @param addr address of a {@code struct sockaddr} ({@link SockAddr})
     * @param addrlen its length
     * @return 0, or -1 with errno set (EINPROGRESS for a non-blocking socket still connecting)
     */
    int connect(int fd, @intptr_t long addr, int addrlen);

    /**
     * {@code accept4(2)}: takes one pending connection.
     *
     * @param fd a listening socket
     * @param addr address that receives the peer's {@code struct sockaddr}
     * @param addrlen address of a {@code socklen_t}: the room at {@code addr} before, the
     *     address's length after
     * @param flags SOCK_NONBLOCK, SOCK_CLOEXEC
     * @return the new socket's fd, or -1 with errno set (EAGAIN when none is pending)
     */
    int accept4(int fd, @intptr_t long addr, @intptr_t long addrlen, int flags);

    /**
     * {@code getsockname(2)}: the address a socket is bound to.
     *
     * @param fd a socket
     * @param addr address that receives the {@code struct sockaddr}
     * @param addrlen address of a {@code socklen_t}: the room at {@code addr} before, the
     *     address's length after
     * @return 0, or -1 with errno set
     */
    int getsockname(int fd, @intptr_t long addr, @intptr_t long addrlen);

    /**
     * {@code shutdown(2)}: closes one or both directions of a connection.
     *
     * @param fd a connected socket
     * @param how SHUT_RD, SHUT_WR or SHUT_RDWR
     * @return 0, or -1 with errno set
     */
    int shutdown(int fd, int how);

    /**
     * {@code open(2)}.
     *
     * @param path the path
     * @param flags O_RDONLY, O_DIRECTORY, O_CLOEXEC...
     * @return the new fd, or -1 with errno set
     */
    int open(String path, int flags);

    /**
     * {@code flock(2)}: an advisory lock on an open file (or directory), held by its open file
     * description until it is closed.
     *
     * @param fd an open fd
     * @param operation LOCK_EX, LOCK_UN, or-ed with LOCK_NB
     * @return 0, or -1 with errno set (EWOULDBLOCK with LOCK_NB while another holds it)
     */
    int flock(int fd, int operation);

    /**
     * {@code strerror(3)}: the C library's text for an errno value, for messages.
     *
     * @param errnum an errno value
     * @return the text, e.g. {@code "Bad file descriptor"}
     */
    @IgnoreError
    String strerror(int errnum);
}
