package evloop.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.sys.Descriptors;
import evloop.sys.Native;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class OutputQueueTest {
    private final Native nat = Native.get();

    /** Drains {@code q} into one end of a socket pair while reading the other end; returns what arrived. */
    private byte[] drain(OutputQueue q, int[] pair) throws Exception {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        ByteBuffer in = Native.allocate(1 << 16);
        while (!q.isEmpty()) {
            q.writeTo(nat, pair[0]);
            int n;
            while ((n = nat.read(pair[1], in.clear())) > 0) {
                byte[] b = new byte[n];
                in.flip().get(b);
                got.write(b);
            }
        }
        return got.toByteArray();
    }

    @Test
    void bytesLargerThanTheSocketTakesArriveWholeAndInOrderAcrossChunks() throws Exception {
        int[] pair = Descriptors.get().socketPair();
        try {
            OutputQueue q = new OutputQueue(new OutputQueue.Pool(32 * 1024, 8));
            ByteArrayOutputStream want = new ByteArrayOutputStream();
            for (int part = 0; part < 40; part++) {
                byte[] b = new byte[100_000 + part];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (byte) (i * 31 + part);
                }
                q.append(ByteBuffer.wrap(b));
                want.write(b);
            }
            assertEquals(want.size(), q.size());
            long first = q.writeTo(nat, pair[0]);
            assertTrue(first > 0 && first < want.size(), "the socket takes part of it: " + first);
            assertArrayEquals(want.toByteArray(), concat(drainFrom(pair[1], first), drain(q, pair)));
        } finally {
            nat.closeQuietly(pair[0]);
            nat.closeQuietly(pair[1]);
        }
    }

    private byte[] drainFrom(int fd, long n) throws Exception {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        ByteBuffer in = Native.allocate(1 << 16);
        while (got.size() < n) {
            int r = nat.read(fd, in.clear());
            if (r > 0) {
                byte[] b = new byte[r];
                in.flip().get(b);
                got.write(b);
            }
        }
        return got.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void echoedFramesSentFromTheReadBufferAndCopiedBytesKeepTheirOrderUnderPartialSends() throws Exception {
        // Each line comes back as: the line (sent from the read buffer, no copy), "+\n" (copied),
        // the line again (copied: not contiguous). A client that reads late forces partial sends
        // in the middle of deferred ranges.
        TcpHandler h = (c, frame) -> {
            c.send(frame);
            c.send("+\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            c.send(frame);
        };
        int lines = 200_000;   // 20 MB back: more than the loopback socket buffers hold
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).watermarks(32L << 20, 64L << 20), h);
             Client client = new Client(s.port())) {
            Thread writer = new Thread(() -> {
                try {
                    java.io.OutputStream out = client.socket.getOutputStream();
                    for (int i = 0; i < lines; i++) {
                        out.write(String.format("%06d abcdefghijklmnopqrstuvwxyz\n", i).getBytes(
                            java.nio.charset.StandardCharsets.ISO_8859_1));
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, "writer");
            writer.start();
            evloop.TestFds.await("output to back up on the server", 20_000,
                () -> !s.connections().isEmpty() && s.connections().get(0).queuedOut() > 0);
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                client.socket.getInputStream(), java.nio.charset.StandardCharsets.ISO_8859_1), 1 << 16);
            for (int i = 0; i < lines; i++) {
                String line = String.format("%06d abcdefghijklmnopqrstuvwxyz", i);
                assertEquals(line, in.readLine(), "line " + i);
                assertEquals("+", in.readLine());
                assertEquals(line, in.readLine());
            }
            writer.join(10_000);
        }
    }

    @Test
    void aFrameTooBigForOneSendStillComesBackBeforeWhatFollowsIt() throws Exception {
        // A 3 MiB line echoed from the read buffer cannot go out in one send: the rest must be
        // copied out ahead of the "+" the handler sends after it.
        TcpHandler h = (c, frame) -> {
            c.send(frame);
            c.send("+\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        };
        int size = 3 << 20;
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).maxLineLength(8 << 20)
                 .watermarks(32L << 20, 64L << 20), h);
             Client client = new Client(s.port())) {
            byte[] line = new byte[size];
            for (int i = 0; i < size - 1; i++) {
                line[i] = (byte) ('a' + i % 26);
            }
            line[size - 1] = '\n';
            for (int k = 0; k < 3; k++) {
                client.send(line);
                java.io.InputStream in = client.socket.getInputStream();
                assertArrayEquals(line, in.readNBytes(size), "round " + k);
                assertArrayEquals("+\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), in.readNBytes(2));
            }
        }
    }
}
