package evloop.tcp;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A handler that ignores frames and records each connection's disconnect cause: tests override
 * only the callbacks they exercise.
 */
class Recording implements TcpHandler {
    private final List<DisconnectCause> causes;

    Recording(List<DisconnectCause> causes) {
        this.causes = causes;
    }

    @Override
    public void onMessage(Connection c, ByteBuffer frame) {}

    @Override
    public void onDisconnect(Connection c, DisconnectCause cause) {
        causes.add(cause);
    }
}
