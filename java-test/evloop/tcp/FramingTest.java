package evloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FramingTest {
    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void linesIncludeTheirNewlineAndKeepCarriageReturns() throws Exception {
        Framing f = Framing.lines(16);
        assertEquals(3, f.frameLength(bytes("ab\ncd\n")));
        assertEquals(4, f.frameLength(bytes("ab\r\nx")));
        assertEquals(0, f.frameLength(bytes("no newline")));
        ByteBuffer b = bytes("xx\nyy\n");
        b.position(3);
        assertEquals(3, f.frameLength(b), "scans from the position");
        assertEquals(3, b.position(), "does not move the position");
    }

    @Test
    void aLineOverTheLimitIsRejected() throws Exception {
        Framing f = Framing.lines(4);
        assertEquals(4, f.frameLength(bytes("abc\n")));
        FramingException e = assertThrows(FramingException.class, () -> f.frameLength(bytes("abcd\n")));
        assertEquals("line longer than 4 bytes", e.getMessage());
        assertThrows(FramingException.class, () -> f.frameLength(bytes("abcdef")));
        assertEquals(0, f.frameLength(bytes("abc")), "still room for the newline");
    }

    @Test
    void theWordAtATimeScanFindsEveryPositionInBothByteOrders() {
        for (java.nio.ByteOrder order : new java.nio.ByteOrder[] {java.nio.ByteOrder.LITTLE_ENDIAN, java.nio.ByteOrder.BIG_ENDIAN}) {
            for (int len = 1; len < 40; len++) {
                for (int at = 0; at < len; at++) {
                    ByteBuffer b = ByteBuffer.allocateDirect(len).order(order);
                    for (int i = 0; i < len; i++) {
                        // Bytes one above and below '\n' tempt the borrow into false positives.
                        b.put(i, (byte) (i % 2 == 0 ? 0x0B : 0x09));
                    }
                    b.put(at, (byte) '\n');
                    if (at + 1 < len) {
                        b.put(at + 1, (byte) '\n');
                    }
                    assertEquals(at, Framing.Lines.indexOfNewline(b, 0, len), order + " len " + len + " at " + at);
                }
                ByteBuffer none = ByteBuffer.allocate(len).order(order);
                assertEquals(-1, Framing.Lines.indexOfNewline(none, 0, len));
            }
        }
    }

    @Test
    void rawFramesAreWholeReads() throws Exception {
        assertEquals(5, Framing.raw(64).frameLength(bytes("a\nb\nc")));
    }

    @Test
    void theBackwardScanFindsTheLastNewlineAtEveryPositionInBothByteOrders() {
        java.util.Random rnd = new java.util.Random(7);
        for (java.nio.ByteOrder order : new java.nio.ByteOrder[] {java.nio.ByteOrder.LITTLE_ENDIAN, java.nio.ByteOrder.BIG_ENDIAN}) {
            for (int len = 0; len < 40; len++) {
                for (int trial = 0; trial < 50; trial++) {
                    ByteBuffer b = ByteBuffer.allocate(len).order(order);
                    for (int i = 0; i < len; i++) {
                        // Mostly bytes near '\n' (0x0a) and 0x0b, which fool a sloppy zero-byte test.
                        int k = rnd.nextInt(10);
                        b.put(i, (byte) (k == 0 ? '\n' : k < 4 ? 0x0b : k < 6 ? 0x8a : 'x'));
                    }
                    int from = len == 0 ? 0 : rnd.nextInt(len + 1);
                    int expected = -1;
                    for (int i = len - 1; i >= from; i--) {
                        if (b.get(i) == '\n') {
                            expected = i;
                            break;
                        }
                    }
                    assertEquals(expected, Framing.Lines.lastIndexOfNewline(b, from, len), order + " len " + len);
                }
            }
        }
    }

    @Test
    void completeLinesTakenTogetherEndAtTheLastNewline() throws Exception {
        Framing lines = Framing.lines(10);
        assertEquals(9, lines.completeLength(bytes("ab\ncd\nef\ngh")));
        assertEquals(0, lines.completeLength(bytes("abc")));
        assertEquals(14, lines.completeLength(bytes("a-line-of-13!\n")), "a complete line is not held to the limit");
        assertEquals(3, lines.completeLength(bytes("ok\nthis-partial-is-long")), "the partial is the reader's to check, later");
        Framing raw = Framing.raw(4);
        assertEquals(4, raw.completeLength(bytes("abcd")), "the default goes frame by frame");
    }

    @Test
    void theDefaultCompleteLengthSeesTheBufferAsFrameLengthDoesAndStopsBeforeARejectedFrame() throws Exception {
        // A length-prefixed framing that reads its prefix in the buffer's own (native) order.
        Framing prefixed = new Framing() {
            @Override
            public int frameLength(ByteBuffer b) throws FramingException {
                if (b.remaining() < 4) {
                    return 0;
                }
                int n = b.getInt(b.position());
                if (n < 0 || n > 100) {
                    throw new FramingException("bad length " + n);
                }
                return b.remaining() >= 4 + n ? 4 + n : 0;
            }

            @Override
            public int maxFrameLength() {
                return 104;
            }
        };
        ByteBuffer b = ByteBuffer.allocateDirect(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(2).put((byte) 'h').put((byte) 'i').putInt(1).put((byte) '!').putInt(-7).flip();
        assertEquals(11, prefixed.completeLength(b), "two frames, in the buffer's byte order; the bad one left for later");
        assertThrows(FramingException.class, () -> prefixed.completeLength(b.position(11)), "nothing complete: rejected now");
    }
}
