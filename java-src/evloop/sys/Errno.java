package evloop.sys;

/**
 * The Linux errno values evloop acts on, and their symbolic names for messages.
 * The numbers are the generic Linux ones (x86_64, aarch64 and most others agree on them).
 * Each constant's comment starts with the C library's text for it ({@code strerror}).
 */
public final class Errno {
    /** Operation not permitted. */
    public static final int EPERM = 1;
    /** No such file or directory; also epoll_ctl's answer for an fd not in the set. */
    public static final int ENOENT = 2;
    /** Interrupted system call: the wrappers retry the call, so it never reaches a caller. */
    public static final int EINTR = 4;
    /** Bad file descriptor: the fd is closed, or was never open. */
    public static final int EBADF = 9;
    /** Resource temporarily unavailable: the wrappers return it as {@link Native#WOULD_BLOCK}. */
    public static final int EAGAIN = 11;
    /** Cannot allocate memory. */
    public static final int ENOMEM = 12;
    /** Permission denied. */
    public static final int EACCES = 13;
    /** File exists; also epoll_ctl's answer for an fd already in the set. */
    public static final int EEXIST = 17;
    /** Invalid argument. */
    public static final int EINVAL = 22;
    /** Too many open files in system: the system-wide fd limit. */
    public static final int ENFILE = 23;
    /** Too many open files: the process's fd limit. */
    public static final int EMFILE = 24;
    /** Broken pipe: sending to a peer that has gone (sends use MSG_NOSIGNAL, so no SIGPIPE). */
    public static final int EPIPE = 32;
    /** Machine is not on the network. */
    public static final int ENONET = 64;
    /** Protocol error. */
    public static final int EPROTO = 71;
    /** Socket operation on non-socket. */
    public static final int ENOTSOCK = 88;
    /** Protocol not available. */
    public static final int ENOPROTOOPT = 92;
    /** Operation not supported. */
    public static final int EOPNOTSUPP = 95;
    /** Address family not supported by protocol. */
    public static final int EAFNOSUPPORT = 97;
    /** Address already in use. */
    public static final int EADDRINUSE = 98;
    /** Cannot assign requested address. */
    public static final int EADDRNOTAVAIL = 99;
    /** Network is down. */
    public static final int ENETDOWN = 100;
    /** Network is unreachable. */
    public static final int ENETUNREACH = 101;
    /** Software caused connection abort: a connection ended before accept took it. */
    public static final int ECONNABORTED = 103;
    /** Connection reset by peer. */
    public static final int ECONNRESET = 104;
    /** No buffer space available. */
    public static final int ENOBUFS = 105;
    /** Transport endpoint is already connected. */
    public static final int EISCONN = 106;
    /** Transport endpoint is not connected. */
    public static final int ENOTCONN = 107;
    /** Connection timed out. */
    public static final int ETIMEDOUT = 110;
    /** Connection refused: nothing listens at the address. */
    public static final int ECONNREFUSED = 111;
    /** Host is down. */
    public static final int EHOSTDOWN = 112;
    /** No route to host. */
    public static final int EHOSTUNREACH = 113;
    /** Operation already in progress: a second connect on a socket still connecting. */
    public static final int EALREADY = 114;
    /** Operation now in progress: a non-blocking connect goes on in the background. */
    public static final int EINPROGRESS = 115;

    private Errno() {}

    /** Name by number, read off the constants above once, so the two cannot disagree. */
    private static final java.util.Map<Integer, String> NAMES = new java.util.HashMap<>();

    static {
        for (java.lang.reflect.Field f : Errno.class.getFields()) {
            try {
                NAMES.put(f.getInt(null), f.getName());
            } catch (IllegalAccessException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    /**
     * The symbolic name of an errno value, for messages.
     *
     * @param errno an errno value
     * @return its symbolic name, e.g. {@code "EBADF"}, or {@code "E<n>"} for one this class does not know
     */
    public static String name(int errno) {
        String n = NAMES.get(errno);
        return n != null ? n : "E" + errno;
    }
}
