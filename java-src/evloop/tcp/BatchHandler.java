package evloop.tcp;

import java.nio.ByteBuffer;

/**
 * A handler that takes every complete frame of a read at once, as one region of the read
 * buffer, instead of one call per frame: for handlers that treat frames alike (an echo, a
 * relay, a logger) and would rather not pay for finding each frame's end. With lines, finding
 * the region costs a backward scan for the last newline, as the C and NIO echo servers do.
 * The region is valid only during the call, like a frame; sent back during the call, it goes
 * out straight from the read buffer. {@link Connection#info()}'s frame count counts regions.
 *
 * <p>The frame limit ({@link Framing#maxFrameLength()}) bounds what waits for the rest of a
 * frame, as always: a partial line over it is a protocol error, delivered after the region
 * before it. The lines inside a region, though, were read whole and are not measured one by
 * one (that would cost the scan this handler exists to save): a handler that must refuse long
 * lines measures them itself, or is a plain {@link TcpHandler} or a {@link TextHandler}.
 *
 * <pre>{@code
 * TcpServer.start(cfg, (BatchHandler) (conn, lines) -> conn.send(lines));   // a line echo
 * }</pre>
 */
@FunctionalInterface
public interface BatchHandler extends TcpHandler {
    /**
     * @param conn the connection
     * @param frames one or more complete frames, back to back
     * @throws Exception closes this connection only (HANDLER_ERROR)
     */
    void onMessages(Connection conn, ByteBuffer frames) throws Exception;

    /** A single frame is a region of one. */
    @Override
    default void onMessage(Connection conn, ByteBuffer frame) throws Exception {
        onMessages(conn, frame);
    }
}
