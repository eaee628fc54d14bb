package evloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.EventLoopGroup;
import evloop.TestFds;
import evloop.net.UnixAddress;
import evloop.sys.Errno;
import evloop.sys.NativeException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnixSocketTest {
    @TempDir
    Path dir;

    private static TcpServer echo(ServerConfig cfg) {
        return TcpServer.start(cfg, (c, line) -> c.send(line));
    }

    /** A line through the JDK's own Unix socket client: an independent peer. */
    private static String jdkEcho(Path path, String line) throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(path));
            ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
            ByteBuffer in = ByteBuffer.allocate(1024);
            while (in.position() == 0 || in.get(in.position() - 1) != '\n') {
                if (ch.read(in) < 0) {
                    break;
                }
            }
            return new String(in.array(), 0, in.position(), StandardCharsets.UTF_8);
        }
    }

    private static String evloopEcho(String path, String line) throws Exception {
        try (EventLoopGroup g = EventLoopGroup.start(1, "unix-client")) {
            LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
            TcpClient client = TcpClient.create(g.loop(0), new ClientConfig().unixPath(path),
                (c, l) -> got.add(StandardCharsets.UTF_8.decode(l).toString()));
            Connection c = client.connect().get(10, TimeUnit.SECONDS);
            assertEquals(UnixAddress.of(path), c.peer());
            c.send(line.getBytes(StandardCharsets.UTF_8));
            String reply = got.poll(10, TimeUnit.SECONDS);
            client.close();
            return reply;
        }
    }

    @Test
    void echoOverAPathWithTheJdkClientAndOurOwnAndTheFileGoesWithTheServer() throws Exception {
        Path path = dir.resolve("echo.sock");
        try (TcpServer s = echo(new ServerConfig().unixPath(path.toString()))) {
            assertEquals(UnixAddress.of(path.toString()), s.address());
            assertEquals(-1, s.port());
            assertTrue(Files.exists(path));
            assertEquals("hello\n", jdkEcho(path, "hello\n"));
            assertEquals("héllo ✓\n", evloopEcho(path.toString(), "héllo ✓\n"));
        }
        assertFalse(Files.exists(path), "removed on close");
    }

    @Test
    void echoOverAnAbstractName() throws Exception {
        String name = "@evloop-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (TcpServer s = echo(new ServerConfig().unixPath(name))) {
            assertEquals("abstract\n", evloopEcho(name, "abstract\n"));
        }
    }

    @Test
    void aStaleSocketFileIsReplacedALiveOneRefusedAndAnythingElseLeftAlone() throws Exception {
        Path path = dir.resolve("stale.sock");
        // A server that died without removing its file: bind a socket, then close it.
        try (SocketChannel dead = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(path));
        }
        assertTrue(Files.exists(path), "the stale file is there");
        try (TcpServer s = echo(new ServerConfig().unixPath(path.toString()))) {
            assertEquals("replaced\n", jdkEcho(path, "replaced\n"));
            UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> echo(new ServerConfig().unixPath(path.toString())));
            NativeException ne = assertInstanceOf(NativeException.class, e.getCause());
            assertEquals(Errno.EADDRINUSE, ne.errno());
            assertEquals("bind(" + path + "): EADDRINUSE (Address already in use: a server is listening on it)",
                ne.getMessage());
            assertEquals("still served\n", jdkEcho(path, "still served\n"), "the live server was not disturbed");
        }
        Path file = dir.resolve("not-a-socket");
        Files.writeString(file, "precious");
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
            () -> echo(new ServerConfig().unixPath(file.toString())));
        assertTrue(e.getMessage().contains("not a socket"), e.getMessage());
        assertEquals("precious", Files.readString(file), "never touched");
    }

    @Test
    void theFileModeIsSetAndPeerCredentialsAreThisProcess() throws Exception {
        Path path = dir.resolve("mode.sock");
        PeerCredentials[] seen = new PeerCredentials[1];
        java.util.concurrent.CountDownLatch connected = new java.util.concurrent.CountDownLatch(1);
        try (TcpServer s = TcpServer.start(new ServerConfig().unixPath(path.toString()).unixFileMode(0600),
                 new TcpHandler() {
                     @Override
                     public void onConnect(Connection c) {
                         seen[0] = c.peerCredentials();
                         connected.countDown();
                     }

                     @Override
                     public void onMessage(Connection c, ByteBuffer line) {
                         c.send(line);
                     }
                 })) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path)));
            assertEquals("creds\n", jdkEcho(path, "creds\n"));
            assertTrue(connected.await(10, TimeUnit.SECONDS));
            assertEquals(ProcessHandle.current().pid(), seen[0].pid());
            int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            assertEquals(uid, seen[0].uid());
        }
    }

    @Test
    void badPathsAreRefusedWithAClearMessage() {
        String tooLong = dir.resolve("x".repeat(120)).toString();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> echo(new ServerConfig().unixPath(tooLong)));
        assertTrue(e.getMessage().startsWith("a unix socket path must have 1 to 107 bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ServerConfig().unixPath(""));
        int before = TestFds.openFds();
        assertThrows(IllegalArgumentException.class, () -> echo(new ServerConfig().unixPath(tooLong)));
        assertTrue(TestFds.openFds() <= before, "the socket made for it was closed");
    }
}
