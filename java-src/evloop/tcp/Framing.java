package evloop.tcp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Splits a byte stream into frames, like the dumais reactor's {@code IFramingStrategy}: given the
 * bytes buffered so far (between position and limit, which it must not move), it returns the
 * length of the first complete frame, 0 when more bytes are needed, or throws
 * {@link FramingException} to reject the stream. The server bounds what it buffers by
 * {@link #maxFrameLength()}, so memory per connection stays bounded whatever the peer sends.
 */
public interface Framing {
    /**
     * The length of the first complete frame in {@code buffered}. Called on the loop thread with
     * the bytes buffered so far; once a frame is delivered it is called again on what follows.
     *
     * @param buffered the bytes between its position and limit; it must not move either
     * @return the first frame's length in bytes (at most {@code buffered.remaining()}), or 0
     *     when more bytes are needed
     * @throws FramingException to reject the stream; the connection closes (PROTOCOL_ERROR)
     */
    int frameLength(ByteBuffer buffered) throws FramingException;

    /**
     * The longest frame accepted; longer ones are a protocol error.
     *
     * @return the limit in bytes, which also bounds what a connection buffers
     */
    int maxFrameLength();

    /**
     * The length of the complete frames at the front of {@code buffered}, taken together: what a
     * {@link BatchHandler} or a {@link TextHandler} receives as one region. The default goes
     * frame by frame, and stops before a frame it rejects, so that the frames before it are
     * delivered first; lines only look for the last newline, scanning backwards. What follows
     * the region is checked afterwards with {@link #frameLength}, like any partial frame.
     *
     * @param buffered the bytes so far, between position and limit (not to be moved)
     * @return the length of the complete frames, 0 if there is none yet
     * @throws FramingException to reject the stream when not even one frame is complete
     */
    default int completeLength(ByteBuffer buffered) throws FramingException {
        ByteBuffer b = buffered.duplicate().order(buffered.order());   // duplicate() is big-endian
        int total = 0;
        int n;
        try {
            while (b.hasRemaining() && (n = frameLength(b)) > 0) {
                b.position(b.position() + n);
                total += n;
            }
        } catch (FramingException e) {
            if (total == 0) {
                throw e;
            }
        }
        return total;
    }

    /**
     * Newline-delimited lines, each frame ending with (and including) its {@code \n}; {@code \r\n} stays as sent.
     *
     * @param maxLength the longest line, its {@code \n} included; at least 1
     * @return the framing; a longer line is a protocol error (a {@link BatchHandler} is told only
     *     of a partial line over the limit: see there)
     */
    static Framing lines(int maxLength) {
        return new Lines(maxLength);
    }

    /**
     * Every read is a frame (cut at {@code maxLength}), whatever its bytes: for protocols that do their own parsing.
     *
     * @param maxLength the longest frame; a longer read is delivered as several
     * @return the framing
     */
    static Framing raw(int maxLength) {
        return new Framing() {
            @Override
            public int frameLength(ByteBuffer buffered) {
                return Math.min(buffered.remaining(), maxLength);
            }

            @Override
            public int maxFrameLength() {
                return maxLength;
            }
        };
    }

    /** The line splitter behind {@link #lines(int)}. */
    final class Lines implements Framing {
        private final int max;

        Lines(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("max frame length must be positive: " + max);
            }
            this.max = max;
        }

        @Override
        public int frameLength(ByteBuffer b) throws FramingException {
            int start = b.position();
            int end = Math.min(b.limit(), start + max);
            int nl = indexOfNewline(b, start, end);
            if (nl >= 0) {
                return nl - start + 1;
            }
            if (b.limit() - start >= max) {
                throw new FramingException("line longer than " + max + " bytes");
            }
            return 0;
        }

        /** Never throws: the partial line after the region is checked by frameLength, later. */
        @Override
        public int completeLength(ByteBuffer b) {
            int start = b.position();
            int nl = lastIndexOfNewline(b, start, b.limit());
            return nl < 0 ? 0 : nl - start + 1;
        }

        /**
         * Index of the last '\n' in [from, to), or -1. Eight bytes per step from the end, with the
         * exact zero-byte test ((w & 0x7f..) + 0x7f..) | w | 0x7f.., complemented: unlike the
         * fast one used forwards, it flags no byte above a match, so the highest flag is exact.
         */
        static int lastIndexOfNewline(ByteBuffer b, int from, int to) {
            int i = to;
            if (b.order() == ByteOrder.LITTLE_ENDIAN) {
                for (; i - 8 >= from; i -= 8) {
                    long w = b.getLong(i - 8) ^ 0x0A0A_0A0A_0A0A_0A0AL;
                    long found = ~(((w & 0x7F7F_7F7F_7F7F_7F7FL) + 0x7F7F_7F7F_7F7F_7F7FL) | w | 0x7F7F_7F7F_7F7F_7F7FL);
                    if (found != 0) {
                        return i - 8 + 7 - (Long.numberOfLeadingZeros(found) >>> 3);
                    }
                }
            }
            for (i = i - 1; i >= from; i--) {
                if (b.get(i) == '\n') {
                    return i;
                }
            }
            return -1;
        }

        /**
         * Index of the first '\n' in [from, to), or -1. Eight bytes per step on little-endian
         * buffers (the classic "has zero byte" test on the word XOR-ed with newlines): its
         * false positives lie only above a true match, so the lowest flagged byte is exact.
         */
        static int indexOfNewline(ByteBuffer b, int from, int to) {
            int i = from;
            if (b.order() == ByteOrder.LITTLE_ENDIAN) {
                for (; i + 8 <= to; i += 8) {
                    long w = b.getLong(i) ^ 0x0A0A_0A0A_0A0A_0A0AL;
                    long found = (w - 0x0101_0101_0101_0101L) & ~w & 0x8080_8080_8080_8080L;
                    if (found != 0) {
                        return i + (Long.numberOfTrailingZeros(found) >>> 3);
                    }
                }
            }
            for (; i < to; i++) {
                if (b.get(i) == '\n') {
                    return i;
                }
            }
            return -1;
        }

        @Override
        public int maxFrameLength() {
            return max;
        }
    }
}
