package evloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.EventLoopGroup;
import evloop.TestFds;
import evloop.net.Fd;
import evloop.net.UnixAddress;
import evloop.sys.Errno;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
            assertEquals("hello\n", TestFds.unixEcho(path, "hello\n"));
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
        // A path with room for a temporary name beside it, and one without (bound directly).
        String longName = "x".repeat(SockAddr.MAX_UNIX_PATH - 2 - dir.toString().length());
        for (Path path : new Path[] {dir.resolve("stale.sock"), dir.resolve(longName)}) {
            // A server that died without removing its file: bind a socket, then close it.
            try (SocketChannel dead = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                dead.bind(UnixDomainSocketAddress.of(path));
            }
            assertTrue(Files.exists(path), "the stale file is there");
            try (TcpServer s = echo(new ServerConfig().unixPath(path.toString()).unixFileMode(0600))) {
                assertEquals("replaced\n", TestFds.unixEcho(path, "replaced\n"));
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path)));
                UncheckedIOException e = assertThrows(UncheckedIOException.class,
                    () -> echo(new ServerConfig().unixPath(path.toString())));
                NativeException ne = assertInstanceOf(NativeException.class, e.getCause());
                assertEquals(Errno.EADDRINUSE, ne.errno());
                assertEquals("bind(" + path + "): EADDRINUSE (Address already in use: a server is listening on it)",
                    ne.getMessage());
                assertEquals("still served\n", TestFds.unixEcho(path, "still served\n"), "the live server was not disturbed");
            }
            assertFalse(Files.exists(path), "removed with its server");
        }
        try (java.util.stream.Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(), left.toList(), "no temporary file left behind");
        }
        Path file = dir.resolve("not-a-socket");
        Files.writeString(file, "precious");
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
            () -> echo(new ServerConfig().unixPath(file.toString())));
        assertTrue(e.getMessage().contains("not a socket"), e.getMessage());
        assertEquals("precious", Files.readString(file), "never touched");
    }

    /**
     * Starts a server on {@code path} on {@code g}'s loop that answers each line with {@code tag}
     * and the line; null if the path was taken (EADDRINUSE).
     */
    private static TcpServer startOrBusy(EventLoopGroup g, Path path, String tag) {
        try {
            return TcpServer.start(g.loop(0), new ServerConfig().unixPath(path.toString()), (c, line) -> {
                c.send(tag.getBytes(StandardCharsets.UTF_8));
                c.send(line);
            });
        } catch (UncheckedIOException e) {
            NativeException ne = assertInstanceOf(NativeException.class, e.getCause());
            assertEquals(Errno.EADDRINUSE, ne.errno(), ne.getMessage());
            return null;
        }
    }

    @Test
    void serversStartingAtOnceOnOnePathNeverReplaceEachOther() throws Exception {
        // With a rename onto the path, each of them "succeeded", and all but the last were
        // left listening on a file that no longer led to them.
        int n = 4;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        try (EventLoopGroup g = EventLoopGroup.start(1, "race")) {
            for (int round = 0; round < 20; round++) {
                Path path = dir.resolve("race-" + round + ".sock");
                java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(n);
                List<java.util.concurrent.Future<TcpServer>> starts = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    String tag = "server " + i + ": ";
                    starts.add(pool.submit(() -> {
                        together.await(10, TimeUnit.SECONDS);
                        return startOrBusy(g, path, tag);
                    }));
                }
                List<TcpServer> started = new ArrayList<>();
                String winner = null;
                for (int i = 0; i < n; i++) {
                    TcpServer s = starts.get(i).get(30, TimeUnit.SECONDS);
                    if (s != null) {
                        started.add(s);
                        winner = "server " + i + ": ";
                    }
                }
                try {
                    assertEquals(1, started.size(), "round " + round + ": one server owns the path, the others were refused");
                    assertEquals(winner + "reached\n", TestFds.unixEcho(path, "reached\n"), "the path leads to the server that started");
                } finally {
                    started.forEach(TcpServer::close);
                }
                assertFalse(Files.exists(path), "removed with its server");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFileThatAppearsWhileAServerStartsIsNeverReplaced() throws Exception {
        // A file created at the path while the server starts: one of the two gets the path, and
        // the file, if it got there first, keeps its content (a rename replaced it).
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try (EventLoopGroup g = EventLoopGroup.start(1, "appear")) {
            for (int round = 0; round < 200; round++) {
                Path path = dir.resolve("appear-" + round);
                java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
                java.util.concurrent.Future<Boolean> wrote = pool.submit(() -> {
                    together.await(10, TimeUnit.SECONDS);
                    try {
                        Files.writeString(path, "precious", java.nio.file.StandardOpenOption.CREATE_NEW,
                            java.nio.file.StandardOpenOption.WRITE);
                        return true;
                    } catch (java.nio.file.FileAlreadyExistsException taken) {
                        return false;
                    }
                });
                together.await(10, TimeUnit.SECONDS);
                TcpServer s = startOrBusy(g, path, "");
                try {
                    boolean fileWon = wrote.get(10, TimeUnit.SECONDS);
                    assertTrue(fileWon != (s != null), "round " + round + ": file " + fileWon + ", server " + (s != null));
                    if (fileWon) {
                        assertEquals("precious", Files.readString(path), "round " + round);
                    }
                } finally {
                    if (s != null) {
                        s.close();
                    }
                }
                Files.deleteIfExists(path);
            }
        } finally {
            pool.shutdownNow();
        }
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
            PeerCredentials self = new PeerCredentials((int) ProcessHandle.current().pid(), idOf("Uid"), idOf("Gid"));
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(path));
                assertTrue(connected.await(10, TimeUnit.SECONDS));
                assertEquals(self, seen[0]);
                List<ConnectionInfo> infos = s.connections();
                assertEquals(1, infos.size());
                assertEquals(self, infos.get(0).peerCredentials(), "in the connection's data too");
            }
        }
        try (TcpServer tcp = echo(new ServerConfig().port(0)); Client c = new Client(tcp.port())) {
            TestFds.await("the connection to be accepted", 5000, () -> tcp.connections().size() == 1);
            assertEquals(null, tcp.connections().get(0).peerCredentials(), "TCP has none");
        }
    }

    /** This process's effective uid or gid ({@code which}: "Uid" or "Gid"), from /proc/self/status. */
    static int idOf(String which) throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(which + ":")) {
                return Integer.parseInt(line.split("\\s+")[2]);   // real, effective, saved, filesystem
            }
        }
        throw new AssertionError(which + " not in /proc/self/status");
    }

    @Test
    void aUnixConnectToAFullBacklogWaitsForRoomWithinTheConnectTimeout() throws Exception {
        // A listener that never accepts, its backlog filled until connect says EAGAIN.
        Path path = dir.resolve("full.sock");
        Sockets so = Sockets.get();
        List<Fd> held = new ArrayList<>();
        try (Fd listener = Fd.own(so.unixStream()); EventLoopGroup g = EventLoopGroup.start(1, "full")) {
            so.bindUnix(listener.fd(), path.toString());
            so.listen(listener.fd(), 1);
            for (int i = 0; i < 100; i++) {
                Fd f = Fd.own(so.unixStream());
                try {
                    so.connectUnix(f.fd(), path.toString());
                    held.add(f);
                } catch (NativeException e) {
                    f.close();
                    assertEquals(Errno.EAGAIN, e.errno());
                    break;
                }
            }
            int before = TestFds.openFds();
            ClientConfig cfg = new ClientConfig().unixPath(path.toString()).connectTimeout(Duration.ofMillis(400));
            long t0 = System.nanoTime();
            java.util.concurrent.CompletableFuture<Connection> f = TcpClient.connect(g.loop(0), cfg, (c, l) -> {});
            Throwable e = assertThrows(java.util.concurrent.ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS))
                .getCause();
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals(Errno.ETIMEDOUT, assertInstanceOf(NativeException.class, e).errno(), e.getMessage());
            assertEquals("connect(unix:" + path + "): ETIMEDOUT (no connection within 400 ms; the listener's backlog"
                + " stayed full)", e.getMessage());
            assertTrue(ms >= 350, "bounded by the connect timeout, not refused at once: " + ms + " ms");
            TestFds.await("the attempt's socket to be closed", 5000, () -> TestFds.openFds() <= before);

            // Room is made while it waits: it connects.
            java.util.concurrent.CompletableFuture<Connection> later = TcpClient.connect(g.loop(0),
                cfg.connectTimeout(Duration.ofSeconds(10)), (c, l) -> {});
            TestFds.await("the attempt to be under way", 5000, () -> TestFds.openFds() > before);
            assertFalse(later.isDone(), "still waiting for room");
            held.add(Fd.own(so.accept(listener.fd(), new SockAddr())));
            Connection c = later.get(10, TimeUnit.SECONDS);
            assertEquals(UnixAddress.of(path.toString()), c.peer());
            c.close();
        } finally {
            held.forEach(Fd::close);
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

    @Test
    void aPathInADirectoryThatDoesNotExistIsNamedAsGivenNotAsItsTemporaryName() {
        String path = dir.resolve("missing").resolve("x.sock").toString();
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
            () -> echo(new ServerConfig().unixPath(path)));
        NativeException ne = assertInstanceOf(NativeException.class, e.getCause());
        assertEquals("bind(" + path + "): ENOENT (No such file or directory)", ne.getMessage());
    }
}
