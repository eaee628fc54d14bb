package evloop.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void aDeferredRangeThatTheSocketOnlyPartlyTakesIsCopiedAndArrivesWhole() throws Exception {
        int[] pair = nat.socketPair();
        try {
            int size = 4 << 20;
            ByteBuffer readBuf = Native.allocate(size);
            for (int i = 0; i < size; i++) {
                readBuf.put(i, (byte) (i * 31 + 7));
            }
            OutputQueue q = new OutputQueue(new OutputQueue.Pool(32 * 1024, 8));
            ByteBuffer frame = readBuf.duplicate();
            // Two contiguous frames become one range; the socket takes far less than 4 MiB at once.
            q.defer(frame.clear().position(0).limit(size / 2), readBuf, Native.address(readBuf));
            q.defer(frame.clear().position(size / 2).limit(size), readBuf, Native.address(readBuf));
            assertEquals(size, q.size());
            long first = q.writeTo(nat, pair[0]);
            assertTrue(first > 0 && first < size, "a partial send: " + first);
            // The read buffer may now be reused: the rest was copied out.
            ByteBuffer expected = readBuf.duplicate().clear();
            byte[] want = new byte[size];
            expected.get(want);
            for (int i = 0; i < size; i++) {
                readBuf.put(i, (byte) 0);
            }
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            ByteBuffer in = Native.allocate(1 << 16);
            int n;
            while ((n = nat.read(pair[1], in.clear())) > 0) {
                byte[] b = new byte[n];
                in.flip().get(b);
                all.write(b);
            }
            all.write(drain(q, pair));
            assertArrayEquals(want, all.toByteArray());
        } finally {
            nat.closeQuietly(pair[0]);
            nat.closeQuietly(pair[1]);
        }
    }

    @Test
    void deferredAndCopiedBytesKeepTheirOrder() throws Exception {
        int[] pair = nat.socketPair();
        try {
            ByteBuffer readBuf = Native.allocate(64);
            readBuf.put(0, "AAAABBBB".getBytes());
            long address = Native.address(readBuf);
            OutputQueue q = new OutputQueue(new OutputQueue.Pool(16, 8));
            ByteBuffer frame = readBuf.duplicate();
            q.defer(frame.clear().position(0).limit(4), readBuf, address);
            q.append(ByteBuffer.wrap("-x-".getBytes()));
            q.defer(frame.clear().position(4).limit(8), readBuf, address);
            assertEquals("AAAA-x-BBBB", new String(drain(q, pair)));
        } finally {
            nat.closeQuietly(pair[0]);
            nat.closeQuietly(pair[1]);
        }
    }
}
