package evloop.tcp;

import evloop.FdHandler;
import evloop.Interest;
import evloop.sys.Native;
import evloop.sys.NativeException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * A connection's input side: reads into the shard's shared read buffer, splits the bytes into
 * frames there and hands each to the handler as a view of that buffer, so a frame costs no copy.
 * Only an incomplete frame leaves the buffer, into a {@link PartialFrame}, until the rest
 * arrives. Output sent while a read batch is delivered is corked and flushed once after it.
 * It is the connection's read-table entry itself, which saves an object per connection.
 * Loop thread only.
 */
final class Inbound implements FdHandler {
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

    @Override
    public void handle(int fd, Set<Interest> events) {
        try {
            readRounds(fd);
        } catch (Throwable e) {
            conn.internalFailure(e);
        }
    }

    /** The loop took the fd out of its tables because something escaped: end the connection. */
    @Override
    public void failed(int fd, Throwable error) {
        conn.abortNow(DisconnectCause.ERROR);
    }

    /** Reads and delivers, a few rounds at most, so one fast sender cannot starve the others. */
    private void readRounds(int fd) {
        Framing framing = shard.settings.framing;
        ReadBuffer rb = shard.resources.readBuffer(framing.maxFrameLength());
        ByteBuffer buf = rb.buf;
        for (int round = 0; round < 4 && conn.isReading(); round++) {
            buf.clear();
            partial.restoreInto(buf);
            int start = buf.position();
            // At most one read's worth past a partial frame: a batch stays small (fair to the
            // other connections), and so does what one batch can push past a reader's bound.
            int want = Math.min(buf.capacity() - start, LoopResources.READ_SIZE);
            long n;
            try {
                n = Native.get().read(fd, rb.address + start, want);
            } catch (NativeException e) {
                conn.ioFailed(e);
                return;
            }
            if (n == Native.WOULD_BLOCK) {
                break;
            }
            if (n == 0) {
                partial.clear();
                conn.peerClosed();
                return;
            }
            bytesIn += n;
            shard.bytesIn += n;
            Timeouts t = conn.timeouts;
            if (t != null) {
                t.bytesIn();
            }
            buf.limit(start + (int) n).position(0);
            long frames = framesIn;
            conn.out.cork(true);
            try {
                deliver(framing, buf, rb.frame);
            } finally {
                conn.out.cork(false);
            }
            if (framesIn != frames && t != null) {
                t.frameIn();
            }
            partial.keep(buf, conn.isOpen());
            conn.out.flush(fd);
            if (n < want) {
                break;
            }
        }
    }

    private void deliver(Framing framing, ByteBuffer buf, ByteBuffer frame) {
        while (buf.hasRemaining() && conn.isOpen()) {
            int length;
            try {
                length = framing.frameLength(buf);
            } catch (FramingException e) {
                protocolError(e);
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

    private void protocolError(FramingException e) {
        try {
            conn.handler().onProtocolError(conn, e);
        } catch (Throwable t) {
            conn.handlerFailed("onProtocolError", t);
        }
        conn.closeGracefully(DisconnectCause.PROTOCOL_ERROR);
    }
}
