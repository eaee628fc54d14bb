package evloop.net;

import java.net.SocketAddress;
import java.util.Objects;

/**
 * A Unix domain socket address: a filesystem path, or a Linux abstract name, written with a
 * leading {@code @} ({@code @evloop-test}): no file, and gone when its last fd closes. The JDK's
 * {@code UnixDomainSocketAddress} cannot name abstract sockets, hence this type.
 */
public final class UnixAddress extends SocketAddress {
    private static final long serialVersionUID = 1L;

    /** The path or {@code @name}, as given to {@link #of}. */
    private final String path;

    private UnixAddress(String path) {
        this.path = path;
    }

    /**
     * @param path a filesystem path, or {@code @name} for an abstract socket; at most 107 bytes
     * @return the address
     */
    public static UnixAddress of(String path) {
        if (path == null || path.isEmpty() || path.equals("@")) {
            throw new IllegalArgumentException("a unix socket needs a path or an @abstract-name, got " + path);
        }
        return new UnixAddress(path);
    }

    /** @return the path as given, {@code @name} for an abstract socket */
    public String path() {
        return path;
    }

    /** @return true for a Linux abstract name (no file) */
    public boolean isAbstract() {
        return path.startsWith("@");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UnixAddress && ((UnixAddress) o).path.equals(path);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(path);
    }

    @Override
    public String toString() {
        return "unix:" + path;
    }
}
