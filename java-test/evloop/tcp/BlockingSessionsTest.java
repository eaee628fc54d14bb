package evloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.TestFds;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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

    @Test
    void aSessionThatReadsSlowlyHoldsThePeerBackInsteadOfQueueingWithoutBound() throws Exception {
        int line = 1024;
        long total = 16L << 20;
        CountDownLatch startReading = new CountDownLatch(1);
        AtomicReference<BlockingSessions.LineChannel> channel = new AtomicReference<>();
        AtomicLong maxQueued = new AtomicLong();
        // Platform threads, so this runs on JDK 17 too; the inbox logic is the same.
        TcpHandler h = BlockingSessions.handler(ch -> {
            channel.set(ch);
            startReading.await(30, TimeUnit.SECONDS);
            byte[] l;
            while ((l = ch.readBytes()) != null) {
                maxQueued.accumulateAndGet(ch.queuedBytes(), Math::max);
                ch.write(l);
            }
        }, Thread::new);
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), h); Client c = new Client(s.port())) {
            AtomicLong written = new AtomicLong();
            Thread writer = new Thread(() -> {
                byte[] b = new byte[line];
                try {
                    OutputStream out = c.socket.getOutputStream();
                    for (long i = 0; i < total / line; i++) {
                        Arrays.fill(b, (byte) ('a' + i % 26));
                        b[line - 1] = '\n';
                        out.write(b);
                        written.addAndGet(line);
                    }
                } catch (java.io.IOException e) {
                    written.set(-1);
                }
            }, "writer");
            writer.start();
            TestFds.await("the connection to pause reading", 30_000,
                () -> !s.connections().isEmpty() && s.connections().get(0).readingPaused());
            long bound = BlockingSessions.INBOX_HIGH + 2 * 64 * 1024 + line;
            assertTrue(channel.get().queuedBytes() <= bound, "inbox bounded: " + channel.get().queuedBytes());
            assertTrue(written.get() < total, "the peer is held back by TCP, not buffered here");
            startReading.countDown();
            InputStream in = c.socket.getInputStream();
            byte[] got = new byte[line];
            for (long i = 0; i < total / line; i++) {
                assertEquals(line, in.readNBytes(got, 0, line));
                assertEquals('a' + i % 26, got[0], "line " + i + " in order");
            }
            writer.join(30_000);
            assertEquals(total, written.get());
            assertTrue(maxQueued.get() <= bound, "bounded to the end: " + maxQueued.get());
        }
    }
}
