package evloop.tcp;

import evloop.sys.Native;
import evloop.sys.NativeException;
import java.nio.ByteBuffer;

/**
 * A connection's input side: reads into the shard's shared read buffer, splits the bytes into
 * frames there and hands each to the handler as a view of that buffer, so a frame costs no copy.
 * Only an incomplete frame leaves the buffer, into a {@link PartialFrame}, until the rest
 * arrives. Output sent while a read batch is delivered is corked and flushed once after it.
 * Loop thread only.
 */
final class Inbound {
    private final Connection conn;
    private final Shard shard;
    private final PartialFrame partial = new PartialFrame();
    long bytesIn;
    long framesIn;

    Inbound(Connection conn, Shard shard) {
        this.conn = conn;
        this.shard = shard;
    }

    int buffered() {
        return partial.length();
    }

    void clear() {
        partial.clear();
    }

    /** Reads and delivers, a few rounds at most, so one fast sender cannot starve the others. */
    void readRounds(int fd) {
        ReadBuffer rb = shard.readBuffer;
        ByteBuffer buf = rb.buf;
        for (int round = 0; round < 4 && conn.isReading(); round++) {
            buf.clear();
            partial.restoreInto(buf);
            int start = buf.position();
            long n;
            try {
                n = Native.get().read(fd, rb.address + start, buf.capacity() - start);
            } catch (NativeException e) {
                conn.ioFailed(e);
                return;
            }
            if (n == Native.WOULD_BLOCK) {
                break;
            }
            if (n == 0) {
                partial.clear();
                conn.closeGracefully(DisconnectCause.PEER_CLOSED);
                return;
            }
            bytesIn += n;
            shard.bytesIn += n;
            buf.limit(start + (int) n).position(0);
            conn.cork(true);
            try {
                deliver(buf, rb.frame);
            } finally {
                conn.cork(false);
            }
            partial.keep(buf, conn.isOpen());
            conn.flush();
            if (n < buf.capacity() - start) {
                break;
            }
        }
    }

    private void deliver(ByteBuffer buf, ByteBuffer frame) {
        Framing framing = conn.server().framing;
        while (buf.hasRemaining() && conn.isOpen()) {
            int length;
            try {
                length = framing.frameLength(buf);
            } catch (FramingException e) {
                conn.protocolError(e);
                return;
            }
            if (length == 0) {
                return;
            }
            int start = buf.position();
            buf.position(start + length);
            frame.clear().position(start).limit(start + length);
            framesIn++;
            shard.framesIn++;
            if (!conn.deliverFrame(frame)) {
                return;
            }
        }
    }
}
