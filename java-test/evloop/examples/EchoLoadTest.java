package evloop.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.tcp.ServerConfig;
import evloop.tcp.TcpServer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EchoLoadTest {
    @Test
    void linesCarryTheirSequenceNumberAndEndWithANewline() {
        assertArrayEquals("0bcdefg\n".getBytes(StandardCharsets.US_ASCII), EchoLoad.line(0, 8));
        assertArrayEquals("1234\n".getBytes(StandardCharsets.US_ASCII), EchoLoad.line(1234, 5));
        assertArrayEquals("34\n".getBytes(StandardCharsets.US_ASCII), EchoLoad.line(1234, 3), "cut to the size: the digits that change");
    }

    @Test
    void aShortRunAgainstAnEchoServerChecksEveryLineAndLosesNothing() throws Exception {
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), (c, line) -> c.send(line))) {
            EchoLoad.Result r = EchoLoad.run("127.0.0.1", s.port(), 4, 8, 100, 1, 0);
            assertTrue(r.msgs() > 0, r.toString());
            assertEquals(0, r.errors());
            assertEquals(0, r.lost());
        }
    }

    @Test
    void aServerThatAltersALineIsCaught() throws Exception {
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), (c, line) -> c.send("x\n".getBytes(StandardCharsets.US_ASCII)))) {
            EchoLoad.Result r = EchoLoad.run("127.0.0.1", s.port(), 2, 1, 10, 1, 0);
            assertEquals(2, r.errors(), r.toString());
        }
    }
}
