package evloop;

import static org.junit.jupiter.api.Assertions.fail;

import evloop.sys.Descriptors;
import evloop.sys.Native;
import evloop.sys.NativeException;
import java.io.File;
import java.nio.ByteBuffer;
import java.util.function.BooleanSupplier;

/** Small helpers shared by the tests: pipes, bytes, fd counts and deadline waits. */
public final class TestFds {
    private TestFds() {}

    public static int[] pipe() throws NativeException {
        return Descriptors.get().pipe();
    }

    public static void writeBytes(int fd, int count) throws NativeException {
        ByteBuffer b = Native.allocate(count);
        while (b.hasRemaining()) {
            if (Native.get().write(fd, b) == Native.WOULD_BLOCK) {
                fail("pipe full");
            }
        }
    }

    /** Reads up to {@code max} bytes; returns how many (0 at EOF or when nothing is there). */
    public static int readBytes(int fd, int max) throws NativeException {
        ByteBuffer b = Native.allocate(max);
        int n = Native.get().read(fd, b);
        return Math.max(n, 0);
    }

    public static void close(int... fds) {
        for (int fd : fds) {
            Native.get().closeQuietly(fd);
        }
    }

    /** How many fds this process has open, from /proc/self/fd. */
    public static int openFds() {
        String[] names = new File("/proc/self/fd").list();
        return names == null ? -1 : names.length;
    }

    /** Waits for {@code condition} with a deadline; fails with {@code what} when it passes. */
    public static void await(String what, long millis, BooleanSupplier condition) {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out after " + millis + " ms waiting for: " + what);
            }
            // Polls the condition; the deadline, not this pause, decides success.
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        }
    }

    /** Runs the loop on a daemon thread named {@code name}. */
    public static Thread runInBackground(EventLoop loop, String name) {
        Thread t = new Thread(loop::run, name);
        t.setDaemon(true);
        t.start();
        await("loop thread to start", 5000, loop::isRunning);
        return t;
    }

    /** A line through the JDK's own Unix socket client, an independent peer; the reply, newline included. */
    public static String unixEcho(java.nio.file.Path path, String line) throws Exception {
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.connect(java.net.UnixDomainSocketAddress.of(path));
            ch.write(ByteBuffer.wrap(line.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            ByteBuffer in = ByteBuffer.allocate(1024);
            while (in.position() == 0 || in.get(in.position() - 1) != '\n') {
                if (ch.read(in) < 0) {
                    break;
                }
            }
            return new String(in.array(), 0, in.position(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }
}
