package evloop.tcp;

import evloop.sys.Native;
import java.nio.ByteBuffer;

/**
 * A loop's shared read buffer for one server (capacity: the longest frame plus one read) and a
 * reusable view of it that carries each frame to the handler without allocating.
 */
final class ReadBuffer {
    final ByteBuffer buf;
    final long address;
    final ByteBuffer frame;

    ReadBuffer(int capacity) {
        buf = Native.allocate(capacity);
        address = Native.address(buf);
        frame = buf.duplicate();
    }
}
