package evloop.tcp;

/** A peer broke the framing rules (a line too long, a bad header); the connection is closed. */
public final class FramingException extends Exception {
    private static final long serialVersionUID = 1L;

    public FramingException(String reason) {
        super(reason);
    }
}
