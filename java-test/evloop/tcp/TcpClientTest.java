package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.EventLoop;
import evloop.EventLoopGroup;
import evloop.TestFds;
import evloop.sys.Errno;
import evloop.sys.NativeException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class TcpClientTest {
    private static String text(ByteBuffer b) {
        return StandardCharsets.UTF_8.decode(b.duplicate()).toString();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A client handler that queues every line it receives. */
    private static TcpHandler collecting(LinkedBlockingQueue<String> into) {
        return (conn, line) -> into.add(text(line));
    }

    private static Throwable failure(CompletableFuture<Connection> f) throws Exception {
        try {
            f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("connected, but should have failed");
    }

    @Test
    void aClientAndAServerOnOneLoopExchangeLinesBothWaysByteExact() throws Exception {
        try (EventLoopGroup group = EventLoopGroup.start(1, "one")) {
            EventLoop loop = group.loop(0);
            try (TcpServer server = TcpServer.start(loop, new ServerConfig().port(0),
                     (c, line) -> c.send(bytes("> " + text(line))))) {
                LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
                TcpClient client = TcpClient.create(loop, new ClientConfig().port(server.port()), collecting(got));
                Connection c = client.connect().get(10, TimeUnit.SECONDS);
                assertTrue(c.isOutbound() && c.client() == client && c.server() == null);
                StringBuilder odd = new StringBuilder();
                for (int i = 0; i < 300; i++) {
                    odd.append((char) ('!' + i % 90));
                }
                String[] lines = {"hello", "héllo wörld ✓", odd.toString(), ""};
                for (String l : lines) {
                    c.send(bytes(l + "\n"));
                }
                for (String l : lines) {
                    assertEquals("> " + l + "\n", got.poll(10, TimeUnit.SECONDS));
                }
                assertEquals(1, server.stats().accepted());
                assertEquals(1, client.stats().connected());
                client.close();
                await("the server sees the client go", 5000, () -> server.stats().active() == 0);
            }
        }
    }

    @Test
    void aThousandClientConnectionsFromOneLoopToAServerOnAnother() throws Exception {
        try (TcpServer server = TcpServer.start(new ServerConfig().port(0), (c, line) -> c.send(line));
             EventLoopGroup clients = EventLoopGroup.start(1, "clients")) {
            AtomicLong echoed = new AtomicLong();
            ConcurrentHashMap<Integer, String> wrong = new ConcurrentHashMap<>();
            TcpClient client = TcpClient.create(clients.loop(0), new ClientConfig().port(server.port()), (c, line) -> {
                if (!text(line).equals("conn " + c.fd() + "\n")) {
                    wrong.put(c.fd(), text(line));
                }
                echoed.incrementAndGet();
            });
            List<CompletableFuture<Connection>> futures = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                futures.add(client.connect());
            }
            for (CompletableFuture<Connection> f : futures) {
                Connection c = f.get(30, TimeUnit.SECONDS);
                c.send(bytes("conn " + c.fd() + "\n"));
            }
            await("every connection's line to come back", 30_000, () -> echoed.get() == 1000);
            assertEquals(Map0.of(), wrong);
            assertEquals(1000, server.stats().active());
            assertEquals(1000, client.stats().active());
            client.close();
            await("all closed on the server", 10_000, () -> server.stats().active() == 0);
        }
    }

    /** Map.of() that prints nicely in assertEquals. */
    private static final class Map0 {
        static java.util.Map<Integer, String> of() {
            return java.util.Map.of();
        }
    }

    @Test
    void whenTheServerDoesNotReadTheClientStopsBeingWritableAndItsMemoryStaysBounded() throws Exception {
        TcpHandler neverReads = new TcpHandler() {
            @Override
            public void onConnect(Connection c) {
                c.pauseReading();
            }

            @Override
            public void onMessage(Connection c, ByteBuffer line) {}
        };
        try (TcpServer server = TcpServer.start(new ServerConfig().port(0), neverReads)) {
            AtomicBoolean unwritable = new AtomicBoolean();
            TcpClient client = TcpClient.create(new ClientConfig().port(server.port()).watermarks(64 << 10, 256 << 10),
                new TcpHandler() {
                    @Override
                    public void onMessage(Connection c, ByteBuffer line) {}

                    @Override
                    public void onWritabilityChanged(Connection c, boolean writable) {
                        unwritable.set(!writable);
                    }
                });
            try {
                Connection c = client.connect().get(10, TimeUnit.SECONDS);
                byte[] line = new byte[1024];
                java.util.Arrays.fill(line, (byte) 'x');
                line[1023] = '\n';
                long sent = 0;
                // A producer that respects writability: it stops when the connection says so.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!unwritable.get() && System.nanoTime() < deadline && sent < (256L << 20)) {
                    c.send(line);
                    sent += line.length;
                    if (sent % (1 << 20) == 0) {
                        client.loop().call(() -> null);   // let the loop flush before producing more
                    }
                }
                assertTrue(unwritable.get(), "the client reported the backlog: " + sent + " bytes sent");
                assertFalse(c.isWritable());
                long queued = client.connections().get(0).queuedOut();
                assertTrue(queued <= (256 << 10) + (1 << 20), "bounded by the high watermark and a burst: " + queued);
            } finally {
                client.close();
            }
        }
    }

    @Test
    void aRefusedConnectNamesTheTargetAndTheErrnoAndLeaksNothing() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();   // free again once closed: nothing listens there
        }
        try (EventLoopGroup g = EventLoopGroup.start(1, "refused")) {
            int before = TestFds.openFds();
            TcpClient client = TcpClient.create(g.loop(0), new ClientConfig().port(port), (c, l) -> {});
            for (int i = 0; i < 50; i++) {
                Throwable e = failure(client.connect());
                NativeException ne = assertInstanceOf(NativeException.class, e);
                assertEquals(Errno.ECONNREFUSED, ne.errno());
                assertEquals("connect(127.0.0.1:" + port + "): ECONNREFUSED (Connection refused)", e.getMessage());
            }
            assertEquals(50, client.stats().failed());
            assertTrue(TestFds.openFds() <= before, "no fd leaked");
        }
    }

    @Test
    void aConnectThatGetsNoAnswerTimesOutNamingTheTarget() throws Exception {
        // A listener with a full backlog that never accepts: further SYNs are dropped, so the
        // connect neither succeeds nor fails until the timeout.
        try (ServerSocket full = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             EventLoopGroup g = EventLoopGroup.start(1, "timeout")) {
            List<Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    Socket s = new Socket();
                    s.connect(new InetSocketAddress("127.0.0.1", full.getLocalPort()), 200);
                    fillers.add(s);
                }
            } catch (java.io.IOException backlogFull) {
                // the backlog is full: exactly the state wanted
            }
            int before = TestFds.openFds();
            long t0 = System.nanoTime();
            Throwable e = failure(TcpClient.connect(g.loop(0),
                new ClientConfig().port(full.getLocalPort()).connectTimeout(Duration.ofMillis(300)), (c, l) -> {}));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals(Errno.ETIMEDOUT, assertInstanceOf(NativeException.class, e).errno());
            assertEquals("connect(127.0.0.1:" + full.getLocalPort() + "): ETIMEDOUT (no connection within 300 ms)",
                e.getMessage());
            assertTrue(ms >= 250 && ms < 10_000, "bounded by the connect timeout: " + ms + " ms");
            assertTrue(TestFds.openFds() <= before, "the socket of the attempt was closed");
            for (Socket s : fillers) {
                s.close();
            }
        }
    }

    /** Fills the backlog of a listener that never accepts: further SYNs are dropped, unanswered. */
    private static List<Socket> fillBacklog(ServerSocket listener) {
        List<Socket> fillers = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                Socket s = new Socket();
                fillers.add(s);
                s.connect(new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort()), 200);
            }
        } catch (java.io.IOException backlogFull) {
            // exactly the state wanted
        }
        return fillers;
    }

    @Test
    void eachAddressGetsAShareOfTheConnectTimeoutSoOneThatNeverAnswersDoesNotSinkTheRest() throws Exception {
        // The name's first address drops SYNs (127.0.0.2, a full backlog on the server's port),
        // its second is the server: with one deadline for both, the first used it all up.
        try (TcpServer server = TcpServer.start(new ServerConfig().port(0), (c, line) -> c.send(line));
             ServerSocket blackhole = new ServerSocket();
             EventLoopGroup g = EventLoopGroup.start(1, "share")) {
            blackhole.bind(new InetSocketAddress("127.0.0.2", server.port()), 1);
            List<Socket> fillers = fillBacklog(blackhole);
            try {
                ClientConfig cfg = new ClientConfig().host("two.test").port(server.port()).connectTimeout(Duration.ofSeconds(2));
                cfg.resolver = host -> new java.net.InetAddress[] {
                    java.net.InetAddress.getByName("127.0.0.2"), java.net.InetAddress.getByName("127.0.0.1")};
                int before = TestFds.openFds();
                LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
                long t0 = System.nanoTime();
                Connection c = TcpClient.connect(g.loop(0), cfg, collecting(got)).get(10, TimeUnit.SECONDS);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(new InetSocketAddress("127.0.0.1", server.port()), c.peer());
                assertTrue(ms >= 900 && ms < 1900, "the first address had half the timeout, 1 s: " + ms + " ms");
                c.send(bytes("via the second\n"));
                assertEquals("via the second\n", got.poll(10, TimeUnit.SECONDS));
                c.close();
                await("the connection and the first attempt's socket to be closed", 5000, () -> TestFds.openFds() <= before);

                // Both silent: the error is the connect timeout's, after all of it.
                cfg.resolver = host -> new java.net.InetAddress[] {
                    java.net.InetAddress.getByName("127.0.0.2"), java.net.InetAddress.getByName("127.0.0.2")};
                Throwable e = failure(TcpClient.connect(g.loop(0), cfg.connectTimeout(Duration.ofMillis(400)), collecting(got)));
                assertEquals("connect(two.test:" + server.port() + "): ETIMEDOUT (no connection within 400 ms)", e.getMessage());
                await("both attempts' sockets to be closed", 5000, () -> TestFds.openFds() <= before);
            } finally {
                for (Socket s : fillers) {
                    s.close();
                }
            }
        }
    }

    @Test
    void aLocalPortWithoutAHostBindsTheWildcardWithThatPortAndALocalHostIsUsed() throws Exception {
        List<InetSocketAddress> peers = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (TcpServer server = TcpServer.start(new ServerConfig().port(0), new TcpHandler() {
                @Override
                public void onConnect(Connection c) {
                    peers.add((InetSocketAddress) c.peer());
                }

                @Override
                public void onMessage(Connection c, ByteBuffer line) {}
            });
             EventLoopGroup g = EventLoopGroup.start(1, "local")) {
            int port;
            try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = free.getLocalPort();   // free again once closed
            }
            Connection c = TcpClient.connect(g.loop(0), new ClientConfig().port(server.port()).localAddress(null, port),
                (x, l) -> {}).get(10, TimeUnit.SECONDS);
            await("the server to see it", 5000, () -> peers.size() == 1);
            assertEquals(new InetSocketAddress("127.0.0.1", port), peers.get(0), "the port was bound, not dropped");
            c.close();
            Connection d = TcpClient.connect(g.loop(0), new ClientConfig().port(server.port()).localAddress("127.0.0.2", 0),
                (x, l) -> {}).get(10, TimeUnit.SECONDS);
            await("the server to see it", 5000, () -> peers.size() == 2);
            assertEquals("127.0.0.2", peers.get(1).getAddress().getHostAddress(), "the local host was bound");
            d.close();
        }
    }

    @Test
    void anUnresolvableHostFailsClearlyWithoutBlockingTheLoopOrLeakingAnFd() throws Exception {
        try (EventLoopGroup g = EventLoopGroup.start(1, "dns")) {
            int before = TestFds.openFds();
            for (int i = 0; i < 20; i++) {
                Throwable e = failure(TcpClient.connect(g.loop(0), new ClientConfig().host("no-such-host.invalid").port(80),
                    (c, l) -> {}));
                assertInstanceOf(UnknownHostException.class, e);
                assertEquals("connect(no-such-host.invalid:80): cannot resolve no-such-host.invalid", e.getMessage());
            }
            assertEquals(1, g.loop(0).call(() -> 1), "the loop still answers");
            await("nothing left open by the lookups", 5000, () -> TestFds.openFds() <= before);
            await("their one-shot clients to let go of the loop", 5000, LoopResources.of(g.loop(0)).shards::isEmpty);
        }
    }

    private static boolean ipv6Loopback() {
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getByName("::1"))) {
            return true;
        } catch (java.io.IOException noIpv6) {
            return false;
        }
    }

    @Test
    void anIpv6LiteralInBracketsConnects() throws Exception {
        Assumptions.assumeTrue(ipv6Loopback(), "this machine has no IPv6 loopback (::1)");
        try (TcpServer server = TcpServer.start(new ServerConfig().host("::1").port(0), (c, line) -> c.send(line));
             EventLoopGroup g = EventLoopGroup.start(1, "v6")) {
            LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
            Connection c = TcpClient.connect(g.loop(0), new ClientConfig().host("[::1]").port(server.port()),
                collecting(got)).get(10, TimeUnit.SECONDS);
            assertEquals(new InetSocketAddress("::1", server.port()), c.peer());
            c.send(bytes("bracketed\n"));
            assertEquals("bracketed\n", got.poll(10, TimeUnit.SECONDS));
            c.close();
        }
    }

    @Test
    void aNameThatResolvesToIpv6LoopbackConnects() throws Exception {
        Assumptions.assumeTrue(ipv6Loopback(), "this machine has no IPv6 loopback (::1)");
        java.net.InetAddress v6 = java.net.InetAddress.getByName("::1");
        String name = null;
        for (String candidate : new String[] {"localhost", "ip6-localhost", "ip6-loopback"}) {
            try {
                if (List.of(java.net.InetAddress.getAllByName(candidate)).contains(v6)) {
                    name = candidate;
                    break;
                }
            } catch (UnknownHostException unknown) {
                // try the next
            }
        }
        Assumptions.assumeTrue(name != null, "no name resolves to ::1 here (localhost, ip6-localhost, ip6-loopback)");
        try (TcpServer server = TcpServer.start(new ServerConfig().host("::1").port(0), (c, line) -> c.send(line));
             EventLoopGroup g = EventLoopGroup.start(1, "v6name");
             Socket refuser = new Socket()) {
            // The name may resolve to 127.0.0.1 as well: a bound socket that does not listen
            // holds that port, so an attempt there is refused and ::1 is tried next.
            refuser.bind(new InetSocketAddress("127.0.0.1", server.port()));
            LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
            Connection c = TcpClient.connect(g.loop(0), new ClientConfig().host(name).port(server.port()),
                collecting(got)).get(10, TimeUnit.SECONDS);
            assertEquals(new InetSocketAddress(v6, server.port()), c.peer());
            c.send(bytes("by name\n"));
            assertEquals("by name\n", got.poll(10, TimeUnit.SECONDS));
            c.close();
        }
    }

    @Test
    void namesIpv6LiteralsAndALocalBindAddressWork() throws Exception {
        try (TcpServer server = TcpServer.start(new ServerConfig().port(0), (c, line) -> c.send(line));
             EventLoopGroup g = EventLoopGroup.start(1, "names")) {
            for (ClientConfig cfg : new ClientConfig[] {
                new ClientConfig().host("localhost").port(server.port()),
                new ClientConfig().host("127.0.0.1").port(server.port()).localAddress("127.0.0.1", 0),
            }) {
                LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
                Connection c = TcpClient.connect(g.loop(0), cfg, collecting(got)).get(10, TimeUnit.SECONDS);
                c.send(bytes("ping\n"));
                assertEquals("ping\n", got.poll(10, TimeUnit.SECONDS));
                c.close();
            }
        }
        boolean ipv6;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getByName("::1"))) {
            ipv6 = true;
        } catch (java.io.IOException noIpv6) {
            ipv6 = false;
        }
        if (ipv6) {
            try (TcpServer server = TcpServer.start(new ServerConfig().host("::1").port(0), (c, line) -> c.send(line));
                 EventLoopGroup g = EventLoopGroup.start(1, "v6")) {
                LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
                Connection c = TcpClient.connect(g.loop(0), new ClientConfig().host("::1").port(server.port()),
                    collecting(got)).get(10, TimeUnit.SECONDS);
                c.send(bytes("over v6\n"));
                assertEquals("over v6\n", got.poll(10, TimeUnit.SECONDS));
                assertTrue(((InetSocketAddress) c.peer()).getAddress() instanceof java.net.Inet6Address);
            }
        }
    }
}
