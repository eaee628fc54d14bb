package evloop.sys;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/**
 * A reusable {@code struct sockaddr_storage} plus its {@code socklen_t}, in direct memory.
 * Encodes {@code sockaddr_in} (16 bytes), {@code sockaddr_in6} (28 bytes) and
 * {@code sockaddr_un} (a path of at most {@value #MAX_UNIX_PATH} bytes, or a Linux abstract name,
 * written {@code @name}); ports and IPv4 addresses are in network byte order, as the kernel
 * wants them. Not thread-safe: an owner (a listener, say) keeps one for its accepts.
 */
public final class SockAddr {
    static final int AF_UNIX = 1;
    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    private static final int STORAGE = 128;
    /** sun_path is 108 bytes: a path takes at most 107 and its NUL; an abstract name 107 after its leading NUL. */
    public static final int MAX_UNIX_PATH = 107;

    final ByteBuffer buf = Native.allocate(STORAGE + 4);
    final long address = Native.address(buf);
    final long lengthAddress = address + STORAGE;

    /** Writes {@code addr} and returns its length, for bind or connect. */
    int encode(InetSocketAddress addr) {
        InetAddress ip = addr.getAddress();
        if (ip == null) {
            throw new IllegalArgumentException("unresolved address: " + addr);
        }
        byte[] raw = ip.getAddress();
        for (int i = 0; i < STORAGE; i++) {
            buf.put(i, (byte) 0);
        }
        buf.put(2, (byte) (addr.getPort() >>> 8));
        buf.put(3, (byte) addr.getPort());
        if (ip instanceof Inet4Address) {
            buf.putShort(0, (short) AF_INET);
            buf.put(4, raw, 0, 4);
            return 16;
        }
        buf.putShort(0, (short) AF_INET6);
        buf.put(8, raw, 0, 16);
        buf.putInt(24, ((Inet6Address) ip).getScopeId());
        return 28;
    }

    /**
     * Writes a Unix socket address and returns its length, for bind or connect. A path starting
     * with {@code @} names a Linux abstract socket: no file, gone with its last fd.
     */
    int encodeUnix(String path) {
        boolean isAbstract = path.startsWith("@");
        byte[] name = (isAbstract ? path.substring(1) : path).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (name.length == 0 || name.length > MAX_UNIX_PATH) {
            throw new IllegalArgumentException("a unix socket path must have 1 to " + MAX_UNIX_PATH
                + " bytes, got " + name.length + ": " + path);
        }
        for (int i = 0; i < STORAGE; i++) {
            buf.put(i, (byte) 0);
        }
        buf.putShort(0, (short) AF_UNIX);
        // An abstract name starts with a NUL byte and is exactly as long as the length says;
        // a path ends with one.
        buf.put(isAbstract ? 3 : 2, name, 0, name.length);
        return 2 + name.length + 1;
    }

    /** Family of {@code addr}: AF_INET or AF_INET6. */
    static int family(InetSocketAddress addr) {
        return addr.getAddress() instanceof Inet6Address ? AF_INET6 : AF_INET;
    }

    /** Prepares the length word before a call that fills the address (accept4, getsockname). */
    void resetLength() {
        buf.putInt(STORAGE, STORAGE);
    }

    /**
     * True if the kernel wrote an IPv4 address, which {@link #ipv4()} and {@link #port()} then read without allocating.
     *
     * @return whether the family is AF_INET
     */
    public boolean isIpv4() {
        return buf.getShort(0) == AF_INET;
    }

    /**
     * The IPv4 address in network order as an int (valid when {@link #isIpv4()}).
     *
     * @return the address's four bytes as the buffer holds them, for {@link #ipv4Address}
     */
    public int ipv4() {
        return buf.getInt(4);
    }

    /**
     * The port the kernel wrote, in host order (valid for IPv4 and IPv6).
     *
     * @return the port, 0 to 65535
     */
    public int port() {
        return ((buf.get(2) & 0xff) << 8) | (buf.get(3) & 0xff);
    }

    /**
     * The address for an IPv4 address and port read earlier with {@link #ipv4()} and {@link #port()}.
     * A connection keeps the two numbers and builds this only when somebody asks for its peer.
     *
     * @param ipv4 as {@link #ipv4()} returned it
     * @param port as {@link #port()} returned it
     * @return a new resolved address (no name lookup)
     */
    public static InetSocketAddress ipv4Address(int ipv4, int port) {
        ByteBuffer b = ByteBuffer.allocate(4).order(java.nio.ByteOrder.nativeOrder());
        b.putInt(0, ipv4);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(b.array()), port);
        } catch (UnknownHostException e) {
            throw new AssertionError("a raw address of 4 bytes is always valid", e);
        }
    }

    /**
     * Reads back what the kernel wrote; null for a family other than IPv4 or IPv6.
     *
     * @return a new resolved address (no name lookup), or null for another family (AF_UNIX)
     */
    public InetSocketAddress decode() {
        int family = buf.getShort(0);
        int port = ((buf.get(2) & 0xff) << 8) | (buf.get(3) & 0xff);
        byte[] raw;
        if (family == AF_INET) {
            raw = new byte[4];
            buf.get(4, raw, 0, 4);
        } else if (family == AF_INET6) {
            raw = new byte[16];
            buf.get(8, raw, 0, 16);
        } else {
            return null;
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(raw), port);
        } catch (UnknownHostException e) {
            throw new AssertionError("a raw address of 4 or 16 bytes is always valid", e);
        }
    }
}
