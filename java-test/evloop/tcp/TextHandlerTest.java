package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The loop decodes text frames for a {@link TextHandler}: a read's lines at once when every byte
 * is one character, line by line otherwise, with the same bounds and guards as raw frames.
 */
class TextHandlerTest {
    private final List<String> texts = new CopyOnWriteArrayList<>();
    private final List<DisconnectCause> causes = new CopyOnWriteArrayList<>();

    /** Records each text and sends its frame back; {@code onLine} may act on a text first. */
    private TcpServer server(ServerConfig cfg, Charset cs, java.util.function.BiConsumer<Connection, String> onLine) {
        return TcpServer.start(cfg.port(0), new TextHandler() {
            @Override
            public void onText(Connection c, String text, ByteBuffer frame) {
                texts.add(text);
                onLine.accept(c, text);
                c.send(frame);
            }

            @Override
            public Charset charset() {
                return cs;
            }

            @Override
            public void onDisconnect(Connection c, DisconnectCause cause) {
                causes.add(cause);
            }
        });
    }

    private static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        parts.forEach(b::writeBytes);
        return b.toByteArray();
    }

    @Test
    void linesInOneReadDecodeAsEachLineAloneWouldAndEchoByteExact() throws Exception {
        // One write per case: all ASCII (the fast road), then with multi-byte and malformed
        // bytes mixed in (each line found in the bytes), long and empty lines, CRLF.
        byte[] malformed = {'b', 'a', 'd', (byte) 0xFF, (byte) 0xE2, (byte) 0x82, '\n'};
        List<List<byte[]>> cases = List.of(
            List.of("one\n".getBytes(StandardCharsets.US_ASCII), "\n".getBytes(StandardCharsets.US_ASCII),
                    ("x".repeat(5000) + "\r\n").getBytes(StandardCharsets.US_ASCII), "last\n".getBytes(StandardCharsets.US_ASCII)),
            List.of("plain\n".getBytes(StandardCharsets.UTF_8), "héllo wörld ✓\n".getBytes(StandardCharsets.UTF_8), malformed,
                    "after\n".getBytes(StandardCharsets.UTF_8)),
            List.of(malformed, "z\n".getBytes(StandardCharsets.UTF_8)));
        try (TcpServer s = server(new ServerConfig(), StandardCharsets.UTF_8, (c, t) -> { });
             Client client = new Client(s.port())) {
            for (List<byte[]> lines : cases) {
                texts.clear();
                byte[] all = concat(lines);
                client.send(all);
                assertArrayEquals(all, client.readExactly(all.length), "the frames go back byte-exact");
                List<String> expected = new ArrayList<>();
                for (byte[] l : lines) {
                    expected.add(new String(l, StandardCharsets.UTF_8));
                }
                assertEquals(expected, texts);
            }
            long lines = cases.stream().mapToLong(List::size).sum();
            await("the frame count", 5000, () -> s.stats().framesIn() == lines);
        }
    }

    @Test
    void otherCharsetsDecodeFrameByFrame() throws Exception {
        try (TcpServer s = server(new ServerConfig(), StandardCharsets.ISO_8859_1, (c, t) -> { });
             Client client = new Client(s.port())) {
            client.send(new byte[] {'c', 'a', 'f', (byte) 0xE9, '\n', 'n', 'o', '\n'});
            assertEquals("caf\u00e9\n", client.line());
            assertEquals("no\n", client.line());
            assertEquals(List.of("caf\u00e9\n", "no\n"), texts);
        }
        try (TcpServer s = server(new ServerConfig(), StandardCharsets.UTF_16BE, (c, t) -> { });
             Client client = new Client(s.port())) {
            texts.clear();
            client.send("A\n".getBytes(StandardCharsets.UTF_16BE));   // 00 41 00 0A: the 0A ends the frame
            assertArrayEquals("A\n".getBytes(StandardCharsets.UTF_16BE), client.readExactly(4));
            assertEquals(List.of("A\n"), texts);
        }
    }

    @Test
    void aCompleteLineOverTheLimitIsRejectedEvenWhenOneReadBroughtItWhole() throws Exception {
        try (TcpServer s = server(new ServerConfig().maxLineLength(16), StandardCharsets.UTF_8, (c, t) -> { });
             Client client = new Client(s.port())) {
            client.send("short\n" + "x".repeat(40) + "\nnever\n");
            assertEquals("short\n", client.line());
            assertEquals("error: line longer than 16 bytes\n", client.line());
            assertTrue(client.atEof());
            await("the close to be reported", 5000, () -> !causes.isEmpty());
            assertEquals(List.of(DisconnectCause.PROTOCOL_ERROR), causes);
            assertEquals(List.of("short\n"), texts);
        }
    }

    @Test
    void aThrowingOrClosingHandlerGetsNoMoreLinesOfThatRead() throws Exception {
        try (TcpServer s = server(new ServerConfig(), StandardCharsets.UTF_8, (c, t) -> {
                if (t.equals("boom\n")) {
                    throw new IllegalStateException("thrown by the test");
                }
                if (t.equals("close\n")) {
                    c.close();
                }
            });
             Client thrower = new Client(s.port());
             Client closer = new Client(s.port());
             Client bystander = new Client(s.port())) {
            thrower.send("a\nboom\nb\nc\n");
            assertEquals("a\n", thrower.line());
            assertTrue(thrower.atEof());
            closer.send("x\nclose\ny\nz\n");
            assertEquals("x\n", closer.line());
            assertTrue(closer.atEof());
            bystander.send("still\n");
            assertEquals("still\n", bystander.line());
            await("both closes to be reported", 5000, () -> causes.size() == 2);
            assertTrue(causes.containsAll(List.of(DisconnectCause.HANDLER_ERROR, DisconnectCause.LOCAL_CLOSE)), causes.toString());
            assertTrue(texts.stream().noneMatch(t -> t.equals("b\n") || t.equals("c\n") || t.equals("y\n") || t.equals("z\n")), texts.toString());
        }
    }
}
