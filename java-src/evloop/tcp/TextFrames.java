package evloop.tcp;

import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * How a loop hands frames to a {@link TextHandler}: decoded through a scratch array of the
 * loop's (the read buffer is native memory, and a String is made from a heap array).
 *
 * <p>Lines in a charset of one byte per character for ASCII (UTF-8, ISO-8859-1, US-ASCII) take
 * a faster road: the complete lines of a read are decoded at once, and when the text has as many
 * characters as the bytes had (no multi-byte character in it, the usual case), character
 * offsets are byte offsets, so each line's end is found with {@link String#indexOf(int, int)},
 * a vectorized intrinsic, and the line is a substring. A byte-at-a-time scan costs several
 * times more than the rest of a long line's delivery. Otherwise each line is found in the bytes
 * and decoded alone. Loop thread only.
 */
final class TextFrames {
    private byte[] scratch = new byte[4096];

    /** The scratch array, with room for {@code n} bytes. */
    private byte[] scratch(int n) {
        if (scratch.length < n) {
            scratch = new byte[Math.max(n, 2 * scratch.length)];
        }
        return scratch;
    }

    /**
     * Delivers the complete frames at the front of {@code buf}, moving its position past each
     * frame as it goes; stops when the connection does.
     *
     * @throws FramingException when the framing rejects the stream (the caller reports it)
     */
    void deliver(Connection c, TextHandler h, Charset cs, Framing framing, ByteBuffer buf, ByteBuffer frame)
            throws FramingException {
        if (framing instanceof Framing.Lines && asciiCompatible(cs)) {
            lines(c, h, cs, framing, buf, frame);
        } else {
            frames(c, h, cs, framing, buf, frame);
        }
    }

    static boolean asciiCompatible(Charset cs) {
        return cs == StandardCharsets.UTF_8 || cs == StandardCharsets.ISO_8859_1 || cs == StandardCharsets.US_ASCII;
    }

    private void lines(Connection c, TextHandler h, Charset cs, Framing framing, ByteBuffer buf, ByteBuffer frame)
            throws FramingException {
        int length = framing.completeLength(buf);
        if (length == 0) {
            return;
        }
        int start = buf.position();
        byte[] a = scratch(length);
        buf.get(start, a, 0, length);
        String all = new String(a, 0, length, cs);
        if (all.length() != length) {
            frames(c, h, cs, framing, buf, frame);   // multi-byte characters: offsets differ
            return;
        }
        for (int from = 0; from < length && c.state == Connection.OPEN; ) {
            int end = all.indexOf('\n', from) + 1;
            if (end - from > framing.maxFrameLength()) {
                // Held to the limit as the line-by-line road holds it, though already read.
                throw new FramingException("line longer than " + framing.maxFrameLength() + " bytes");
            }
            frame.clear().position(start + from).limit(start + end);
            buf.position(start + end);
            if (!hand(c, h, all.substring(from, end), frame)) {
                return;
            }
            from = end;
        }
    }

    private void frames(Connection c, TextHandler h, Charset cs, Framing framing, ByteBuffer buf, ByteBuffer frame)
            throws FramingException {
        while (buf.hasRemaining() && c.state == Connection.OPEN) {
            int length = framing.frameLength(buf);
            if (length == 0) {
                return;
            }
            int start = buf.position();
            byte[] a = scratch(length);
            buf.get(start, a, 0, length);
            frame.clear().position(start).limit(start + length);
            buf.position(start + length);
            if (!hand(c, h, new String(a, 0, length, cs), frame)) {
                return;
            }
        }
    }

    private static boolean hand(Connection c, TextHandler h, String text, ByteBuffer frame) {
        c.framesIn++;
        c.shard.framesIn++;
        try {
            h.onText(c, text, frame);
            return true;
        } catch (Throwable e) {
            c.handlerFailed("onText", e);
            return false;
        }
    }
}
