package evloop.tcp;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Callbacks of a connection, a server's or a client's, in the spirit of the dumais reactor's
 * TcpEngine. All run on the loop thread. Only {@link #onMessage} is required; a lambda makes a
 * handler. What a callback throws ends its connection only (HANDLER_ERROR), never the loop.
 */
@FunctionalInterface
public interface TcpHandler {
    /** A client connected. */
    default void onConnect(Connection conn) throws Exception {}

    /**
     * One complete frame (for lines: the line with its {@code \n}). The buffer is a view into the
     * server's read buffer, valid only during this call: copy what you keep. Sending it back with
     * {@link Connection#send(ByteBuffer)} copies it. Throwing closes this connection only.
     */
    void onMessage(Connection conn, ByteBuffer frame) throws Exception;

    /**
     * The peer closed its sending side (EOF); every complete frame before it has been delivered.
     * Return true to keep the connection open for output: reading stops for good, {@link
     * Connection#send} still works, and the connection ends when you {@link Connection#close()}
     * it (cause PEER_CLOSED), or fails. The default closes it at once, flushing what is queued:
     * right for a handler that answers each frame as it arrives, as its answers are queued by
     * then. A handler whose answers come later (from another thread, a channel) keeps it open so
     * that a peer which half-closed still gets them.
     *
     * @param conn the connection
     * @return true to keep the connection open for output
     * @throws Exception closes the connection (HANDLER_ERROR)
     */
    default boolean onPeerClosed(Connection conn) throws Exception {
        return false;
    }

    /** The connection ended; called exactly once per connection. */
    default void onDisconnect(Connection conn, DisconnectCause cause) throws Exception {}

    /** Queued output crossed the high watermark (false: reading paused) or fell below the low one (true). */
    default void onWritabilityChanged(Connection conn, boolean writable) throws Exception {}

    /**
     * A timeout of this connection expired ({@link ConnectionConfig}). Return true to keep the
     * connection open: that timeout starts over. The default closes it: gracefully for
     * IDLE_TIMEOUT and READ_TIMEOUT, with a reset for WRITE_TIMEOUT (its output is stuck).
     *
     * @param conn the connection
     * @param which IDLE_TIMEOUT, READ_TIMEOUT or WRITE_TIMEOUT
     * @return true to keep the connection open
     * @throws Exception closes the connection (HANDLER_ERROR)
     */
    default boolean onTimeout(Connection conn, DisconnectCause which) throws Exception {
        return false;
    }

    /**
     * The framing rejected the stream; the connection closes after this returns. The default
     * tells the peer why in one line, which suits line protocols.
     */
    default void onProtocolError(Connection conn, FramingException error) throws Exception {
        conn.send(("error: " + error.getMessage() + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
