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
    int epoll_create1(int flags);

    int epoll_ctl(int epfd, int op, int fd, @intptr_t long event);

    int epoll_wait(int epfd, @intptr_t long events, int maxevents, int timeoutMillis);

    int eventfd(int initval, int flags);

    int poll(@intptr_t long fds, long nfds, int timeoutMillis);

    @ssize_t long read(int fd, @intptr_t long buf, @size_t long count);

    @ssize_t long write(int fd, @intptr_t long buf, @size_t long count);

    @ssize_t long send(int fd, @intptr_t long buf, @size_t long len, int flags);

    int close(int fd);

    int pipe2(@intptr_t long fds, int flags);

    int socketpair(int domain, int type, int protocol, @intptr_t long fds);

    int socket(int domain, int type, int protocol);

    int setsockopt(int fd, int level, int optname, @intptr_t long optval, int optlen);

    int getsockopt(int fd, int level, int optname, @intptr_t long optval, @intptr_t long optlen);

    int bind(int fd, @intptr_t long addr, int addrlen);

    int listen(int fd, int backlog);

    int connect(int fd, @intptr_t long addr, int addrlen);

    int accept4(int fd, @intptr_t long addr, @intptr_t long addrlen, int flags);

    int getsockname(int fd, @intptr_t long addr, @intptr_t long addrlen);

    int shutdown(int fd, int how);

    @IgnoreError
    String strerror(int errnum);
}
