package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.EventLoop;
import evloop.EventLoopGroup;
import evloop.TestFds;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Connects in flight, clients closing, loops closing: nothing leaks, every future completes. */
class ClientLifecycleTest {
    /** A listener whose backlog is full: a connect to it waits until its timeout. */
    private static final class FullBacklog implements AutoCloseable {
        final ServerSocket listener;
        final List<Socket> fillers = new ArrayList<>();

        FullBacklog() throws IOException {
            listener = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
            try {
                for (int i = 0; i < 4; i++) {
                    Socket s = new Socket();
                    s.connect(new InetSocketAddress("127.0.0.1", listener.getLocalPort()), 200);
                    fillers.add(s);
                }
            } catch (IOException full) {
                // exactly the state wanted
            }
        }

        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            for (Socket s : fillers) {
                s.close();
            }
            listener.close();
        }
    }

    private static Throwable failureOf(CompletableFuture<Connection> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("connected");
    }

    @Test
    void closingAClientFailsItsConnectsInFlightAndReleasesTheirFds() throws Exception {
        try (FullBacklog full = new FullBacklog(); EventLoopGroup g = EventLoopGroup.start(1, "c")) {
            int before = TestFds.openFds();
            TcpClient client = TcpClient.create(g.loop(0), new ClientConfig().port(full.port())
                .connectTimeout(Duration.ofMinutes(1)), (c, l) -> {});
            CompletableFuture<Connection> f = client.connect();
            await("the connect to be under way", 5000, () -> TestFds.openFds() > before);
            long t0 = System.nanoTime();
            client.close();
            Throwable e = failureOf(f);
            assertTrue(e.getMessage().endsWith("the client was closed"), e.getMessage());
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 10_000);
            await("its socket to be closed", 5000, () -> TestFds.openFds() <= before);
        }
    }

    /**
     * A caller that stops waiting (cancel, orTimeout, an interrupted get that cancels) aborts
     * the attempt: its socket and timer go at once, not when the connect timeout would have
     * fired, and its client drains, so closing it does not wait for a connect nobody wants.
     */
    @Test
    void aConnectItsCallerGaveUpOnReleasesItsSocketTimerAndClientAtOnce() throws Exception {
        try (FullBacklog full = new FullBacklog(); EventLoopGroup g = EventLoopGroup.start(1, "c")) {
            EventLoop loop = g.loop(0);
            ClientConfig cfg = new ClientConfig().port(full.port()).connectTimeout(Duration.ofMinutes(1));
            int before = TestFds.openFds();

            // A one-shot connect, cancelled: its own client closes and lets go of the loop.
            CompletableFuture<Connection> once = TcpClient.connect(loop, cfg, (c, l) -> {});
            await("the one-shot connect to be under way", 5000, () -> TestFds.openFds() > before);
            assertTrue(once.cancel(false));
            await("its socket to be closed", 2000, () -> TestFds.openFds() <= before);
            await("its client to let go of the loop", 2000, LoopResources.of(loop).shards::isEmpty);
            assertEquals(0, loop.call(() -> loop.stats().pendingTimers()), "its connect timer was cancelled");

            // A client's connect that the caller times out (orTimeout completes the very future).
            TcpClient client = TcpClient.create(loop, cfg, (c, l) -> {});
            CompletableFuture<Connection> f = client.connect().orTimeout(200, TimeUnit.MILLISECONDS);
            assertInstanceOf(java.util.concurrent.TimeoutException.class, failureOf(f));
            await("the timed-out attempt's socket to be closed", 2000, () -> TestFds.openFds() <= before);
            await("the attempt to count as failed", 2000, () -> client.stats().failed() == 1);
            assertEquals(0, loop.call(() -> loop.stats().pendingTimers()), "its connect timer was cancelled");
            long t0 = System.nanoTime();
            client.close();
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms < 1500, "nothing in flight to wait for: close took " + ms + " ms");
            await("the client to let go of the loop", 2000, LoopResources.of(loop).shards::isEmpty);
        }
    }

    @Test
    void closingTheLoopFailsConnectsInFlightAndReleasesTheirFds() throws Exception {
        try (FullBacklog full = new FullBacklog()) {
            EventLoopGroup g = EventLoopGroup.start(1, "c");
            int before = TestFds.openFds();
            CompletableFuture<Connection> f = TcpClient.create(g.loop(0), new ClientConfig().port(full.port())
                .connectTimeout(Duration.ofMinutes(1)), (c, l) -> {}).connect();
            await("the connect to be under way", 5000, () -> TestFds.openFds() > before);
            g.close();
            assertTrue(failureOf(f).getMessage().contains("closed"));
            assertTrue(TestFds.openFds() <= before - 2, "the connect's socket and the loop's two fds are gone");
        }
    }

    @Test
    void aLoopThatClosesUnderItsConnectionsClosesThemAndItsListeners() throws Exception {
        EventLoopGroup g = EventLoopGroup.start(1, "s");
        List<DisconnectCause> causes = new CopyOnWriteArrayList<>();
        TcpServer s = TcpServer.start(g.loop(0), new ServerConfig().port(0), new Recording(causes) {
            @Override
            public void onMessage(Connection c, ByteBuffer f) {
                c.send(f);
            }
        });
        try (Client c = new Client(s.port())) {
            c.send("hi\n");
            assertEquals("hi\n", c.line());
            g.close();
            assertTrue(c.atEof(), "closed by its owner when the loop closed, not left open");
            assertEquals(List.of(DisconnectCause.SERVER_STOP), causes);
            try (ServerSocket rebind = new ServerSocket()) {
                rebind.bind(new InetSocketAddress("127.0.0.1", s.port()));   // the listener is gone too
            }
        } finally {
            s.close();
        }
    }

    @Test
    void closeFromTheClientsOwnLoopThreadStillLetsItsConnectionsFlush() throws Exception {
        List<DisconnectCause> causes = new CopyOnWriteArrayList<>();
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), (c, f) -> c.send(f))) {
            TcpClient client = TcpClient.create(new ClientConfig().port(s.port()), new Recording(causes) {
                @Override
                public void onConnect(Connection c) {
                    c.send("bye\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    c.client().close();   // on the client's own loop thread
                }
            });
            client.connect();
            await("the connection to close, flushed", 10_000, () -> !causes.isEmpty());
            assertEquals(List.of(DisconnectCause.LOCAL_CLOSE), causes);
            await("the server to see it go", 10_000, () -> s.stats().active() == 0);
            assertTrue(client.loop().isClosed() || TestFds.openFds() > 0);
            await("the client's own loop to close after the flush", 10_000, () -> client.loop().isClosed());
        }
    }

    @Test
    void oneShotConnectsReleaseTheirClientWithTheConnection() throws Exception {
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), (c, f) -> c.send(f));
             EventLoopGroup g = EventLoopGroup.start(1, "c")) {
            for (int i = 0; i < 100; i++) {
                Connection c = TcpClient.connect(g.loop(0), new ClientConfig().port(s.port()), (x, l) -> {})
                    .get(10, TimeUnit.SECONDS);
                c.close();
            }
            LoopResources r = LoopResources.of(g.loop(0));
            await("every one-shot client to let go of the loop", 10_000, r.shards::isEmpty);
        }
    }

    @Test
    void aOneShotConnectionGetsTheHandlerItselfNotAWrapperThatHidesWhatItIs() throws Exception {
        // The server answers two lines in one write and half-closes: a BatchHandler sees one
        // region, and an onPeerClosed that keeps the connection open is honoured.
        try (ServerSocket ss = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             EventLoopGroup g = EventLoopGroup.start(1, "c")) {
            List<String> regions = new CopyOnWriteArrayList<>();
            CompletableFuture<DisconnectCause> ended = new CompletableFuture<>();
            BatchHandler h = new BatchHandler() {
                @Override
                public void onMessages(Connection c, ByteBuffer lines) {
                    regions.add(java.nio.charset.StandardCharsets.UTF_8.decode(lines).toString());
                }

                @Override
                public boolean onPeerClosed(Connection c) {
                    c.send("bye\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    c.close();
                    return true;
                }

                @Override
                public void onDisconnect(Connection c, DisconnectCause cause) {
                    ended.complete(cause);
                }
            };
            CompletableFuture<Connection> f = TcpClient.connect(g.loop(0), new ClientConfig().port(ss.getLocalPort()), h);
            try (Socket peer = ss.accept()) {
                f.get(10, TimeUnit.SECONDS);
                peer.getOutputStream().write("a\nb\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                peer.shutdownOutput();
                byte[] answer = peer.getInputStream().readAllBytes();
                assertEquals("bye\n", new String(answer, java.nio.charset.StandardCharsets.UTF_8));
            }
            assertEquals(DisconnectCause.PEER_CLOSED, ended.get(10, TimeUnit.SECONDS));
            assertEquals(List.of("a\nb\n"), regions);
            await("the one-shot client to let go of the loop", 10_000, LoopResources.of(g.loop(0)).shards::isEmpty);
        }
    }

    @Test
    void malformedHostsFailClearlyAndNeverResolveOnTheLoop() throws Exception {
        try (EventLoopGroup g = EventLoopGroup.start(1, "dns")) {
            for (String host : new String[] {"[", "[127.0.0.1x", "999.1.1.1", "localhost:80"}) {
                Throwable e = failureOf(TcpClient.connect(g.loop(0), new ClientConfig().host(host).port(80)
                    .connectTimeout(Duration.ofSeconds(20)), (c, l) -> {}));
                assertInstanceOf(UnknownHostException.class, e, host + ": " + e);
                assertEquals("connect(" + host + ":80): cannot resolve " + host, e.getMessage());
            }
        }
    }
}
