package evloop.tcp;

import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * A handler that takes each frame as text: a {@link String} decoded in {@link #charset()},
 * alongside the frame's bytes. The loop decodes on its thread, with one scratch array per loop;
 * for lines in UTF-8, ISO-8859-1 or US-ASCII it decodes each read's complete lines at once and
 * finds their ends in the decoded text, which the JDK searches far faster than a byte loop can.
 * Sending {@code frame} back during the call sends the original bytes without a copy (and
 * byte-exact, whatever the decoder made of them), as {@link TcpHandler#onMessage} does.
 *
 * <pre>{@code
 * TcpServer.start(cfg, (TextHandler) (conn, line, frame) -> conn.send(line.toUpperCase().getBytes(UTF_8)));
 * }</pre>
 */
@FunctionalInterface
public interface TextHandler extends TcpHandler {
    /**
     * A frame arrived.
     *
     * @param conn the connection
     * @param text the frame decoded (malformed input replaced, as {@code new String} does)
     * @param frame the frame's bytes, valid only during the call, as in {@link TcpHandler#onMessage}
     * @throws Exception closes this connection only (HANDLER_ERROR)
     */
    void onText(Connection conn, String text, ByteBuffer frame) throws Exception;

    /**
     * The charset frames are decoded in; asked once per read.
     *
     * @return UTF-8 unless overridden
     */
    default Charset charset() {
        return StandardCharsets.UTF_8;
    }

    /** Called only by code that hands frames over itself; the loop calls {@link #onText}. */
    @Override
    default void onMessage(Connection conn, ByteBuffer frame) throws Exception {
        byte[] b = new byte[frame.remaining()];
        frame.duplicate().get(b);
        onText(conn, new String(b, charset()), frame);
    }
}
