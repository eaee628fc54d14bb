package evloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BlockingSessionsTest {
    @Test
    void aBlockingStyleSessionEchoesOnAVirtualThreadOrJdk17SaysWhy() throws Exception {
        if (Runtime.version().feature() < 21) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> BlockingSessions.handler(ch -> {}));
            assertTrue(e.getMessage().contains("JDK 21"), e.getMessage());
            return;
        }
        StringBuilder threadKind = new StringBuilder();
        BlockingSessions.Session session = ch -> {
            threadKind.append(Thread.currentThread().toString());
            String line;
            while ((line = ch.readLine()) != null) {
                ch.write("you said " + line);
            }
        };
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), BlockingSessions.handler(session));
             Client c = new Client(s.port())) {
            c.send("one\n");
            assertEquals("you said one\n", c.line());
            c.send("two\nthree\n");
            assertEquals("you said two\n", c.line());
            assertEquals("you said three\n", c.line());
            c.socket.shutdownOutput();
            assertTrue(c.atEof(), "the session ends at EOF and closes the connection");
            assertTrue(threadKind.toString().startsWith("VirtualThread"), threadKind.toString());
        }
    }
}
