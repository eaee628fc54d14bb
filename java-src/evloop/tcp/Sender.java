package evloop.tcp;

import java.nio.ByteBuffer;

/**
 * Something bytes can be sent to: a {@link Connection}, or a stand-in that records what a
 * handler would have written (the Clojure REPL's replay). A Java interface rather than a
 * Clojure protocol so that reloading Clojure namespaces never detaches existing implementations.
 */
public interface Sender {
    /**
     * Queues {@code data}'s remaining bytes; false if they will not be sent (closing).
     *
     * @param data the bytes between its position and limit; the buffer is not changed
     * @return false once closing (nothing is sent)
     */
    boolean send(ByteBuffer data);

    /**
     * Queues {@code data}; false if it will not be sent (closing).
     *
     * @param data the bytes to send; do not change them afterwards
     * @return false once closing (nothing is sent)
     */
    boolean send(byte[] data);
}
