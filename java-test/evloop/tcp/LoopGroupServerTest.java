package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.TestFds;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
}
