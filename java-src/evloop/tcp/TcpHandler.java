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
    /**
     * The connection is open: a server accepted it, or a client's connect succeeded. The first
     * callback of every connection. The default does nothing.
     *
     * @param conn the new connection
     * @throws Exception closes the connection (HANDLER_ERROR)
     */
    default void onConnect(Connection conn) throws Exception {}

    /**
     * One complete frame (for lines: the line with its {@code \n}). The buffer is a view into the
     * loop's read buffer, valid only during this call: copy what you keep. Sending it back with
     * {@link Connection#send(ByteBuffer)} during this call sends it straight from the read buffer
     * (no copy), so do not change its bytes. Throwing closes this connection only.
     *
     * @param conn the connection it arrived on
     * @param frame the frame, between the buffer's position and limit
     * @throws Exception closes the connection (HANDLER_ERROR)
     */
    void onMessage(Connection conn, ByteBuffer frame) throws Exception;

    /**
     * The peer closed its sending side (EOF); every complete frame before it has been delivered.
     * Return true to keep the connection open for output: reading stops for good, {@link
     * Connection#send} still works, and the connection ends when you {@link Connection#close()}
     * it (cause PEER_CLOSED), or fails. The default closes it at once, flushing what is queued:
     * right for a handler that answers each frame as it arrives, as its answers are queued by
     * then. A handler whose answers come later (from another thread, a channel) keeps it open so
     * that a peer which half-closed still gets them. A read timeout no longer applies then.
     *
     * @param conn the connection
     * @return true to keep the connection open for output
     * @throws Exception closes the connection (HANDLER_ERROR)
     */
    default boolean onPeerClosed(Connection conn) throws Exception {
        return false;
    }

    /**
     * The connection ended; called exactly once per connection. The default does nothing.
     *
     * @param conn the connection, already closed: sending to it does nothing
     * @param cause why it ended
     * @throws Exception is logged; the connection is gone either way
     */
    default void onDisconnect(Connection conn, DisconnectCause cause) throws Exception {}

    /**
     * Queued output crossed the high watermark (false: reading paused) or fell below the low one (true).
     * The default does nothing: reading pauses and resumes on its own.
     *
     * @param conn the connection
     * @param writable false once output backs up, true once it has drained
     * @throws Exception closes the connection (HANDLER_ERROR)
     */
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
     *
     * @param conn the connection; what is sent now still goes out before the close
     * @param error what the framing rejected
     * @throws Exception closes the connection as HANDLER_ERROR instead of PROTOCOL_ERROR
     */
    default void onProtocolError(Connection conn, FramingException error) throws Exception {
        conn.send(("error: " + error.getMessage() + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
