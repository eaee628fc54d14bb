package evloop.tcp;

import evloop.sys.Native;
import evloop.sys.NativeException;
import java.nio.ByteBuffer;

/**
 * The input side of every connection on one loop, and the read-table entry of each of them:
 * it finds the connection by fd, as the Chicken server's tables did, so a connection needs no
 * handler object of its own. It reads into the loop's read buffer, splits the bytes into frames
 * there and hands each to the handler as a view of that buffer, so a frame costs no copy. Only
 * an incomplete frame leaves the buffer, into the connection's {@code partial} array, until the
 * rest arrives. Output sent while a read batch is delivered is corked and written once after
 * it. Loop thread only.
 */
final class Reader extends ConnectionEntry {
    Reader(LoopResources resources) {
        super(resources);
    }

    @Override
    void ready(Connection c, int fd) {
        readRounds(c, fd);
    }

    /** Reads and delivers, a few rounds at most, so one fast sender cannot starve the others. */
    private void readRounds(Connection c, int fd) {
        Framing framing = c.shard.settings.framing;
        ReadBuffer rb = resources.readBuffer(framing.maxFrameLength());
        ByteBuffer buf = rb.buf;
        Writer writer = resources.writer;
        for (int round = 0; round < 4 && c.state == Connection.OPEN && c.readerArmed; round++) {
            buf.clear();
            if (c.partialLength > 0) {
                buf.put(c.partial, 0, c.partialLength);
            }
            int start = buf.position();
            // At most one read's worth past a partial frame: a batch stays small (fair to the
            // other connections), and so does what one batch can push past a reader's bound.
            int want = Math.min(buf.capacity() - start, LoopResources.READ_SIZE);
            if (want <= 0) {
                // A framing that kept asking for more past its own limit: a read of 0 bytes
                // would look like EOF, so say what it is.
                protocolError(c, c.handler(), new FramingException("frame longer than " + framing.maxFrameLength() + " bytes"));
                return;
            }
            long n;
            try {
                n = Native.get().read(fd, rb.address + start, want);
            } catch (NativeException e) {
                c.ioFailed(e);
                return;
            }
            if (n == Native.WOULD_BLOCK) {
                break;
            }
            if (n == 0) {
                dropPartial(c);
                c.peerClosed();
                return;
            }
            c.bytesIn += n;
            c.shard.bytesIn += n;
            Timeouts t = c.timeouts;
            if (t != null) {
                t.bytesIn();
            }
            buf.limit(start + (int) n).position(0);
            long frames = c.framesIn;
            writer.cork(c);
            try {
                deliver(c, framing, buf, rb.frame);
            } finally {
                writer.uncork(c);
            }
            if (c.framesIn != frames && t != null) {
                t.frameIn();
            }
            keepPartial(c, buf);
            writer.flush(c);
            if (n < want) {
                break;
            }
        }
    }

    /**
     * Hands the complete frames at the front of {@code buf} to the handler: one call per frame,
     * or, for a {@link BatchHandler}, one call for all of them (the region the framing's
     * completeLength finds); a {@link TextHandler} gets them decoded. Stops when the
     * connection does.
     */
    private void deliver(Connection c, Framing framing, ByteBuffer buf, ByteBuffer frame) {
        TcpHandler h = c.handler();
        if (h instanceof TextHandler) {
            deliverText(c, (TextHandler) h, framing, buf, frame);
            checkPartial(c, h, framing, buf);
            return;
        }
        boolean batch = h instanceof BatchHandler;
        while (buf.hasRemaining() && c.state == Connection.OPEN) {
            int length;
            try {
                length = batch ? framing.completeLength(buf) : framing.frameLength(buf);
            } catch (FramingException e) {
                protocolError(c, h, e);
                return;
            }
            if (length == 0) {
                if (batch) {
                    checkPartial(c, h, framing, buf);   // lines' completeLength leaves that to frameLength
                }
                return;
            }
            int start = buf.position();
            buf.position(start + length);
            frame.clear().position(start).limit(start + length);
            c.framesIn++;
            c.shard.framesIn++;
            try {
                if (batch) {
                    ((BatchHandler) h).onMessages(c, frame);
                } else {
                    h.onMessage(c, frame);
                }
            } catch (Throwable e) {
                c.handlerFailed(batch ? "onMessages" : "onMessage", e);
                return;
            }
            if (batch) {
                checkPartial(c, h, framing, buf);   // a region is all there is: what is left is partial
                return;
            }
        }
    }

    private void deliverText(Connection c, TextHandler h, Framing framing, ByteBuffer buf, ByteBuffer frame) {
        java.nio.charset.Charset cs;
        try {
            cs = java.util.Objects.requireNonNull(h.charset(), "charset() returned null");
        } catch (Throwable e) {
            c.handlerFailed("charset", e);
            return;
        }
        try {
            resources.text.deliver(c, h, cs, framing, buf, frame);
        } catch (FramingException e) {
            protocolError(c, h, e);
        }
    }

    /**
     * After a region: what is left (an incomplete frame) goes to the framing, as frame-by-frame
     * delivery would have given it, so a line over the limit is rejected now, after the complete
     * frames before it were delivered.
     */
    private static void checkPartial(Connection c, TcpHandler h, Framing framing, ByteBuffer buf) {
        if (c.state == Connection.OPEN && buf.hasRemaining()) {
            try {
                framing.frameLength(buf);
            } catch (FramingException e) {
                protocolError(c, h, e);
            }
        }
    }

    /** Keeps what is left of the buffer (an incomplete frame) for the next read; a big array goes once used. */
    private static void keepPartial(Connection c, ByteBuffer buf) {
        int length = c.state == Connection.OPEN ? buf.remaining() : 0;
        c.partialLength = length;
        if (length > 0) {
            if (c.partial == null || c.partial.length < length) {
                c.partial = new byte[Math.max(length, 256)];
            }
            buf.get(c.partial, 0, length);
        } else if (c.partial != null && c.partial.length > 4096) {
            c.partial = null;
        }
    }

    private static void dropPartial(Connection c) {
        c.partial = null;
        c.partialLength = 0;
    }

    private static void protocolError(Connection c, TcpHandler h, FramingException e) {
        try {
            h.onProtocolError(c, e);
        } catch (Throwable t) {
            c.handlerFailed("onProtocolError", t);
        }
        Closing.gracefully(c, DisconnectCause.PROTOCOL_ERROR);
    }
}
