package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.TestFds;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LoopGroupServerTest {
    private static TcpHandler echoNotingThreads(Set<String> threads) {
        return (c, frame) -> {
            threads.add(Thread.currentThread().getName());
            c.send(frame);
        };
    }

    private static void echoOn(int port, int clients) throws Exception {
        List<Client> open = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) {
                open.add(new Client(port));
            }
            for (int i = 0; i < clients; i++) {
                open.get(i).send("c" + i + "\n");
            }
            for (int i = 0; i < clients; i++) {
                assertEquals("c" + i + "\n", open.get(i).line());
            }
        } finally {
            for (Client c : open) {
                c.close();
            }
        }
    }

    @Test
    void leastLoadedSpreadsConnectionsEvenlyOverTheLoops() throws Exception {
        Set<String> threads = ConcurrentHashMap.newKeySet();
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).loops(2), echoNotingThreads(threads))) {
            List<Client> open = new ArrayList<>();
            try {
                for (int i = 0; i < 10; i++) {
                    open.add(new Client(s.port()));
                    open.get(i).send("x\n");
                    open.get(i).line();
                }
                assertEquals(List.of(5, 5), s.loads());
                assertEquals(2, threads.size(), "both loop threads served: " + threads);
            } finally {
                for (Client c : open) {
                    c.close();
                }
            }
            await("all closed", 5000, () -> s.stats().active() == 0 && s.loads().equals(List.of(0, 0)));
        }
    }

    @Test
    void reusePortListenersServeAndCloseFreesFdsAndThePort() throws Exception {
        TcpServer.start(new ServerConfig().port(0), (c, f) -> c.send(f)).close();
        int before = TestFds.openFds();
        int port;
        Set<String> threads = ConcurrentHashMap.newKeySet();
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).loops(2).balance(TcpServer.Balance.REUSE_PORT),
                 echoNotingThreads(threads))) {
            port = s.port();
            echoOn(port, 40);
            assertTrue(!threads.isEmpty());
        }
        assertTrue(TestFds.openFds() <= before, "every loop and listener fd released");
        try (TcpServer again = TcpServer.start(new ServerConfig().port(port), (c, f) -> c.send(f))) {
            echoOn(again.port(), 1);
        }
    }

    @Test
    void crossLoopSendsGoThroughExecute() throws Exception {
        ConcurrentHashMap<Integer, Connection> conns = new ConcurrentHashMap<>();
        TcpHandler relay = new TcpHandler() {
            @Override
            public void onConnect(Connection c) {
                conns.put(c.fd(), c);
            }

            @Override
            public void onMessage(Connection c, java.nio.ByteBuffer frame) {
                for (Connection other : conns.values()) {
                    if (other != c) {
                        other.send(frame);
                    }
                }
            }
        };
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).loops(2), relay);
             Client a = new Client(s.port()); Client b = new Client(s.port())) {
            await("both connected", 5000, () -> conns.size() == 2);
            assertEquals(List.of(1, 1), s.loads(), "one connection per loop");
            a.send("from a\n");
            assertEquals("from a\n", b.line());
            b.send("from b\n");
            assertEquals("from b\n", a.line());
        }
    }

    /**
     * connections() from a handler on a server of two loops asked the other loop through
     * call(), blocking this loop thread; when both loops' handlers asked at once, each waited
     * 5 s for the other and then got only its own loop's connections, as if that were all.
     */
    @Test
    void connectionQueriesFromHandlersOfSeveralLoopsNeverAnswerWithPartOfTheConnections() throws Exception {
        CyclicBarrier together = new CyclicBarrier(2);
        ConcurrentHashMap<Integer, Object> answers = new ConcurrentHashMap<>();
        TcpHandler asks = (c, frame) -> {
            together.await(10, TimeUnit.SECONDS);
            Object answer;
            try {
                answer = c.server().connections().size();
            } catch (RuntimeException e) {
                answer = e;
            }
            answers.put(c.fd(), answer);
            c.server().connectionsAsync().thenAccept(all ->
                c.send((all.size() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        };
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).loops(2), asks);
             Client a = new Client(s.port()); Client b = new Client(s.port())) {
            await("one connection per loop", 5000, () -> s.loads().equals(List.of(1, 1)));
            long t0 = System.nanoTime();
            a.send("?\n");
            b.send("?\n");
            assertEquals("2\n", a.line(), "connectionsAsync() from a handler: all of them");
            assertEquals("2\n", b.line());
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            for (Object answer : answers.values()) {
                assertTrue(Integer.valueOf(2).equals(answer) || (answer instanceof IllegalStateException
                    && ((Exception) answer).getMessage().contains("use submit()")),
                    "all the connections, or a visible failure; not part of them: " + answers);
            }
            assertTrue(ms < 4000, "the loop threads were blocked for " + ms + " ms");
        }
    }

    /** Listener.openAll asked each loop through call(): from another loop's handler that is refused now. */
    @Test
    void aHandlerStartsAServerOnAGroupOfOtherLoops() throws Exception {
        java.util.concurrent.CompletableFuture<TcpServer> started = new java.util.concurrent.CompletableFuture<>();
        TcpHandler starts = (c, frame) -> {
            try {
                started.complete(TcpServer.start(new ServerConfig().port(0).loops(2), (c2, f2) -> c2.send(f2)));
            } catch (Throwable t) {
                started.completeExceptionally(t);
            }
        };
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), starts); Client c = new Client(s.port())) {
            c.send("start one\n");
            try (TcpServer other = started.get(10, TimeUnit.SECONDS)) {
                echoOn(other.port(), 4);
            }
        }
    }
}
