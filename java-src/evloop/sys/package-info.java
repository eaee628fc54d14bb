/**
 * The native boundary: the only code that touches libc. {@link evloop.sys.LibC} binds the calls
 * through JNR-FFI; {@link evloop.sys.Native}, {@link evloop.sys.Descriptors} (the calls that make
 * fds) and {@link evloop.sys.Sockets} wrap them, retrying EINTR, returning EAGAIN as
 * {@link evloop.sys.Native#WOULD_BLOCK} and turning every other failure into a
 * {@link evloop.sys.NativeException} that names the call, its arguments and errno;
 * {@link evloop.sys.Epoll} and {@link evloop.sys.EventFd} are the loop's two fds, and
 * {@link evloop.sys.SockAddr} the socket addresses in native memory.
 *
 * <p>An implementation detail, not API: its types are public only because {@code evloop},
 * {@code evloop.net} and {@code evloop.tcp} use them across packages, and because JNR must see
 * {@code LibC}. They may change in any release. Programs meet two of them: a
 * {@link evloop.sys.NativeException} is the {@link java.io.IOException} evloop's socket calls
 * throw, and {@link evloop.sys.Errno}'s constants are what its {@code errno()} compares with. For
 * sockets of their own, programs use {@link evloop.net.Net} and {@link evloop.net.Fd}, the public
 * face of this layer.
 */
package evloop.sys;
