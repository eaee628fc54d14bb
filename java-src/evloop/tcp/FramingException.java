package evloop.tcp;

/** A peer broke the framing rules (a line too long, a bad header); the connection is closed. */
public final class FramingException extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * A rejection, thrown by {@link Framing#frameLength}.
     *
     * @param reason what was wrong, in words for the peer: the default
     *     {@link TcpHandler#onProtocolError} sends it as {@code error: <reason>}
     */
    public FramingException(String reason) {
        super(reason);
    }
}
