package evloop.tcp;

import java.nio.ByteBuffer;

/**
 * The bytes of an incomplete frame, held for a connection between reads. Only these bytes ever
 * leave the shared read buffer; they go back in front of the next read. Idle connections hold
 * no array, and a large one is dropped once the frame completes. Loop thread only.
 */
final class PartialFrame {
    private byte[] bytes;
    private int length;

    int length() {
        return length;
    }

    /** Puts the held bytes at the start of the read buffer, ahead of the next read. */
    void restoreInto(ByteBuffer buf) {
        if (length > 0) {
            buf.put(bytes, 0, length);
        }
    }

    /** Keeps what remains of {@code buf} (an incomplete frame), or nothing when {@code keep} is false. */
    void keep(ByteBuffer buf, boolean keep) {
        length = keep ? buf.remaining() : 0;
        if (length > 0) {
            if (bytes == null || bytes.length < length) {
                bytes = new byte[Math.max(length, 256)];
            }
            buf.get(bytes, 0, length);
        } else if (bytes != null && bytes.length > 4096) {
            bytes = null;
        }
    }

    void clear() {
        bytes = null;
        length = 0;
    }
}
