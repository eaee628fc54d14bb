package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TcpServerTest {
    private final List<TcpServer> servers = new ArrayList<>();
    private final Map<Integer, DisconnectCause> causes = new ConcurrentHashMap<>();

    @AfterEach
    void stop() {
        servers.forEach(TcpServer::close);
    }

    private TcpServer echo(ServerConfig cfg) {
        TcpServer s = TcpServer.start(cfg.port(0), new TcpHandler() {
            @Override
            public void onMessage(Connection c, java.nio.ByteBuffer frame) {
                c.send(frame);
            }

            @Override
            public void onDisconnect(Connection c, DisconnectCause cause) {
                causes.put(c.fd(), cause);
            }
        });
        servers.add(s);
        return s;
    }

    @Test
    void echoesLinesSplitAcrossReadsAndManyPerRead() throws Exception {
        TcpServer s = echo(new ServerConfig());
        try (Client c = new Client(s.port())) {
            c.send("hel");
            c.send("lo\nwor");
            c.send("ld\r\n");
            assertEquals("hello\n", c.line());
            assertEquals("world\r\n", c.line());
            StringBuilder many = new StringBuilder();
            for (int i = 0; i < 1000; i++) {
                many.append("line ").append(i).append('\n');
            }
            c.send(many.toString());
            for (int i = 0; i < 1000; i++) {
                assertEquals("line " + i + "\n", c.line());
            }
            byte[] binary = new byte[256 + 1];
            for (int i = 0; i < 256; i++) {
                binary[i] = (byte) (i == '\n' ? 0 : i);
            }
            binary[256] = '\n';
            c.send(binary);
            assertArrayEquals(binary, c.readExactly(binary.length), "NULs and high bytes come back intact");
            c.send("trailing bytes wait for their newline");
            c.send("\n");
            assertEquals("trailing bytes wait for their newline\n", c.line());
        }
    }

    @Test
    void anOversizeLineGetsAnErrorLineAndACloseWhileOthersGoOn() throws Exception {
        TcpServer s = echo(new ServerConfig().maxLineLength(1024));
        try (Client bad = new Client(s.port()); Client good = new Client(s.port())) {
            bad.send("x".repeat(5000));
            assertEquals("error: line longer than 1024 bytes\n", bad.line());
            assertTrue(bad.atEof());
            good.send("still here\n");
            assertEquals("still here\n", good.line());
            await("protocol error recorded", 5000, () -> causes.containsValue(DisconnectCause.PROTOCOL_ERROR));
        }
    }

    @Test
    void halfCloseStillDeliversEveryEchoThenEof() throws Exception {
        TcpServer s = echo(new ServerConfig());
        try (Client c = new Client(s.port())) {
            StringBuilder sent = new StringBuilder();
            for (int i = 0; i < 500; i++) {
                sent.append("half ").append(i).append('\n');
            }
            c.send(sent.toString());
            c.socket.shutdownOutput();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            got.write(c.readExactly(sent.length()));
            assertEquals(sent.toString(), got.toString(StandardCharsets.ISO_8859_1));
            assertTrue(c.atEof());
            await("peer-closed recorded", 5000, () -> causes.containsValue(DisconnectCause.PEER_CLOSED));
        }
    }

    @Test
    void aHandlerCanKeepAHalfClosedConnectionOpenForLateAnswers() throws Exception {
        AtomicReference<Connection> held = new AtomicReference<>();
        TcpServer s = TcpServer.start(new ServerConfig().port(0), new TcpHandler() {
            @Override
            public void onMessage(Connection c, java.nio.ByteBuffer frame) {}   // answers come later

            @Override
            public boolean onPeerClosed(Connection c) {
                held.set(c);
                return true;
            }

            @Override
            public void onDisconnect(Connection c, DisconnectCause cause) {
                causes.put(c.fd(), cause);
            }
        });
        servers.add(s);
        try (Client c = new Client(s.port())) {
            c.send("question\n");
            c.socket.shutdownOutput();
            await("EOF seen and kept open", 5000, () -> held.get() != null);
            assertTrue(held.get().isOpen() && held.get().isPeerClosed());
            held.get().send("late answer\n".getBytes(StandardCharsets.UTF_8));   // from this thread
            held.get().close();
            assertEquals("late answer\n", c.line());
            assertTrue(c.atEof());
            await("closed as peer-closed", 5000, () -> causes.get(held.get().fd()) == DisconnectCause.PEER_CLOSED);
        }
    }

    @Test
    void aThrowingHandlerClosesOnlyItsConnection() throws Exception {
        TcpServer s = echo(new ServerConfig());
        TcpHandler echoing = s.handler();
        s.setHandler(new TcpHandler() {
            @Override
            public void onMessage(Connection c, java.nio.ByteBuffer frame) throws Exception {
                if (frame.get(frame.position()) == '!') {
                    throw new IllegalStateException("deliberate failure for this test");
                }
                echoing.onMessage(c, frame);
            }

            @Override
            public void onDisconnect(Connection c, DisconnectCause cause) throws Exception {
                echoing.onDisconnect(c, cause);
            }
        });
        try (Client bad = new Client(s.port()); Client good = new Client(s.port())) {
            good.send("before\n");
            assertEquals("before\n", good.line());
            bad.send("!boom\n");
            assertTrue(bad.atEof());
            good.send("after\n");
            assertEquals("after\n", good.line());
            await("handler error recorded", 5000, () -> causes.containsValue(DisconnectCause.HANDLER_ERROR));
            assertEquals(1, s.stats().active());
        }
    }

    @Test
    void aFramingBugResetsOnlyItsConnectionAndTheServerGoesOn() throws Exception {
        Framing lines = Framing.lines(1024);
        Framing buggy = new Framing() {
            @Override
            public int frameLength(java.nio.ByteBuffer b) throws FramingException {
                if (b.get(b.position()) == '?') {
                    throw new IllegalStateException("deliberate framing bug for this test");
                }
                return lines.frameLength(b);
            }

            @Override
            public int maxFrameLength() {
                return 1024;
            }
        };
        TcpServer s = echo(new ServerConfig().framing(buggy));
        try (Client bad = new Client(s.port()); Client good = new Client(s.port())) {
            good.send("ok\n");
            assertEquals("ok\n", good.line());
            bad.send("?\n");
            assertTrue(bad.atEof());
            await("error recorded", 5000, () -> causes.containsValue(DisconnectCause.ERROR));
            good.send("still ok\n");
            assertEquals("still ok\n", good.line());
            try (Client late = new Client(s.port())) {
                late.send("the listener lives\n");
                assertEquals("the listener lives\n", late.line());
            }
        }
    }

    @Test
    void anErrorFromAFramingEndsItsConnectionOnceAndNoFdIsClosedTwice() throws Exception {
        Framing lines = Framing.lines(1024);
        Framing buggy = new Framing() {
            @Override
            public int frameLength(java.nio.ByteBuffer b) throws FramingException {
                if (b.get(b.position()) == '?') {
                    throw new AssertionError("deliberate: an Error, which is not an Exception, from a framing");
                }
                return lines.frameLength(b);
            }

            @Override
            public int maxFrameLength() {
                return 1024;
            }
        };
        List<DisconnectCause> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        TcpServer s = TcpServer.start(new ServerConfig().port(0).framing(buggy), new TcpHandler() {
            @Override
            public void onMessage(Connection c, java.nio.ByteBuffer frame) {
                c.send(frame);
            }

            @Override
            public void onDisconnect(Connection c, DisconnectCause cause) {
                seen.add(cause);
            }
        });
        servers.add(s);
        try (Client bad = new Client(s.port())) {
            bad.send("?\n");
            assertTrue(bad.atEof());
            await("the failed connection to be gone", 5000, () -> s.stats().active() == 0);
            assertEquals(List.of(DisconnectCause.ERROR), seen, "ended once, with its own cause");
            assertTrue(s.connections().isEmpty(), "not left behind as open");
        }
        // The number is free again; a new client may get it, and must keep it until it closes.
        try (Client next = new Client(s.port())) {
            next.send("mine\n");
            assertEquals("mine\n", next.line());
            s.close();
            assertTrue(next.atEof());
            assertEquals(List.of(DisconnectCause.ERROR, DisconnectCause.SERVER_STOP), seen);
        }
    }

    @Test
    void sendsFromEightThreadsKeepEachThreadsOrder() throws Exception {
        AtomicReference<Connection> conn = new AtomicReference<>();
        TcpServer s = TcpServer.start(new ServerConfig().port(0), new TcpHandler() {
            @Override
            public void onConnect(Connection c) {
                conn.set(c);
            }

            @Override
            public void onMessage(Connection c, java.nio.ByteBuffer frame) {}
        });
        servers.add(s);
        int threads = 8;
        int perThread = 2000;
        try (Client c = new Client(s.port())) {
            await("connection", 5000, () -> conn.get() != null);
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> senders = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < perThread; i++) {
                        conn.get().send((id + " " + i + "\n").getBytes(StandardCharsets.US_ASCII));
                    }
                });
                th.start();
                senders.add(th);
            }
            go.countDown();
            int[] next = new int[threads];
            for (int n = 0; n < threads * perThread; n++) {
                String[] parts = c.line().trim().split(" ");
                int id = Integer.parseInt(parts[0]);
                assertEquals(next[id], Integer.parseInt(parts[1]), "thread " + id + "'s lines in order");
                next[id]++;
            }
            for (Thread th : senders) {
                th.join(10_000);
            }
        }
    }

    @Test
    void twoThousandConcurrentConnectionsEachEcho() throws Exception {
        TcpServer s = echo(new ServerConfig());
        List<Client> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 2000; i++) {
                clients.add(new Client(s.port()));
            }
            for (int i = 0; i < clients.size(); i++) {
                clients.get(i).send("client " + i + "\n");
            }
            for (int i = 0; i < clients.size(); i++) {
                assertEquals("client " + i + "\n", clients.get(i).line());
            }
            assertEquals(2000, s.stats().active());
        } finally {
            for (Client c : clients) {
                c.close();
            }
        }
        await("all closed", 10_000, () -> s.stats().active() == 0);
    }

    @Test
    void maxClientsIsEnforced() throws Exception {
        TcpServer s = echo(new ServerConfig().maxClients(2));
        try (Client a = new Client(s.port()); Client b = new Client(s.port())) {
            a.send("a\n");
            b.send("b\n");
            assertEquals("a\n", a.line());
            assertEquals("b\n", b.line());
            try (Client c = new Client(s.port())) {
                assertTrue(c.atEof(), "the third client is closed at once");
            }
            assertEquals(1, s.stats().rejected());
            a.send("a again\n");
            assertEquals("a again\n", a.line());
        }
    }

    @Test
    void connectionsAreVisibleAsData() throws Exception {
        TcpServer s = echo(new ServerConfig());
        try (Client c = new Client(s.port())) {
            c.send("abc\npartial");
            assertEquals("abc\n", c.line());
            await("partial bytes buffered", 5000, () -> s.connections().get(0).bufferedIn() == 7);
            ConnectionInfo info = s.connections().get(0);
            assertEquals(11, info.bytesIn());
            assertEquals(4, info.bytesOut());
            assertEquals(1, info.framesIn());
            assertEquals("open", info.state());
            assertEquals(c.socket.getLocalPort(), ((java.net.InetSocketAddress) info.peer()).getPort());
            assertEquals(false, info.outbound());
        }
    }

    @Test
    void aBatchHandlerGetsTheCompleteLinesOfEachReadAtOnceByteExact() throws Exception {
        java.util.List<String> batches = new java.util.concurrent.CopyOnWriteArrayList<>();
        TcpServer s = TcpServer.start(new ServerConfig().port(0).maxLineLength(64), (BatchHandler) (c, lines) -> {
            batches.add(StandardCharsets.ISO_8859_1.decode(lines.duplicate()).toString());
            c.send(lines);
        });
        servers.add(s);
        try (Client c = new Client(s.port())) {
            c.send("one\ntwo\nthr");
            assertEquals("one\n", c.line());
            assertEquals("two\n", c.line());
            c.send("ee\n");
            assertEquals("three\n", c.line());
            await("both batches", 5000, () -> batches.size() == 2);
            assertEquals(List.of("one\ntwo\n", "three\n"), batches, "whole lines only, the partial held back");
            c.send("x".repeat(100));
            assertTrue(c.line().startsWith("error: line longer than 64 bytes"), "the partial is held to the limit");
        }
        try (Client c = new Client(s.port())) {
            c.send("ok\n" + "x".repeat(100));   // one write: a complete line, then an over-long partial
            assertEquals("ok\n", c.line(), "the complete line is delivered first");
            assertTrue(c.line().startsWith("error: line longer than 64 bytes"));
            assertTrue(c.atEof());
        }
    }
}
