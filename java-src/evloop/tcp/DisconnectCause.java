package evloop.tcp;

/** Why a connection ended, as {@link TcpHandler#onDisconnect} is told. */
public enum DisconnectCause {
    /** The peer closed its side (EOF) and everything queued for it was flushed. */
    PEER_CLOSED,
    /** The peer reset the connection (ECONNRESET, EPIPE) or it timed out. */
    RESET,
    /** Another I/O error; it was logged. */
    ERROR,
    /** {@link Connection#close()} or {@link Connection#abort()} was called. */
    LOCAL_CLOSE,
    /** The server stopped. */
    SERVER_STOP,
    /** The framing rejected the input (for lines: a line over the limit). */
    PROTOCOL_ERROR,
    /** A handler callback threw; it was logged with the fd and peer. */
    HANDLER_ERROR,
    /** Output could not be flushed before the close deadline. */
    CLOSE_TIMEOUT,
    /** No bytes either way for the idle timeout. */
    IDLE_TIMEOUT,
    /** No complete frame arrived for the read timeout. */
    READ_TIMEOUT,
    /** Queued output made no progress for the write timeout; the connection was reset. */
    WRITE_TIMEOUT
}
