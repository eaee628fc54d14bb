package evloop.sys;

/**
 * The Linux errno values evloop acts on, and their symbolic names for messages.
 * The numbers are the generic Linux ones (x86_64, aarch64 and most others agree on them).
 */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int EPIPE = 32;
    public static final int ENONET = 64;
    public static final int EPROTO = 71;
    public static final int ENOTSOCK = 88;
    public static final int ENOPROTOOPT = 92;
    public static final int EOPNOTSUPP = 95;
    public static final int EAFNOSUPPORT = 97;
    public static final int EADDRINUSE = 98;
    public static final int EADDRNOTAVAIL = 99;
    public static final int ENETDOWN = 100;
    public static final int ENETUNREACH = 101;
    public static final int ECONNABORTED = 103;
    public static final int ECONNRESET = 104;
    public static final int ENOBUFS = 105;
    public static final int EISCONN = 106;
    public static final int ENOTCONN = 107;
    public static final int ETIMEDOUT = 110;
    public static final int ECONNREFUSED = 111;
    public static final int EHOSTDOWN = 112;
    public static final int EHOSTUNREACH = 113;
    public static final int EALREADY = 114;
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
     * @param errno an errno value
     * @return its symbolic name, e.g. {@code "EBADF"}, or {@code "E<n>"} for one this class does not know
     */
    public static String name(int errno) {
        String n = NAMES.get(errno);
        return n != null ? n : "E" + errno;
    }
}
