package evloop.tcp;

import java.lang.System.Logger.Level;

/**
 * Loads, once per JVM and before any server serves, every class a connection's life and the
 * listener's pause can need, and wakes the logging backend and the time-zone data its
 * timestamps use. The first EOF, reset or failed accept may come when the process has no fd
 * left, and loading a class from a directory (or a log configuration, or tz data) takes one:
 * without this, the error path fails with {@code NoClassDefFoundError} exactly when it is
 * needed. The fresh-JVM test under {@code ulimit -n} ({@code FdExhaustionTest}) keeps the list
 * honest.
 */
final class Preload {
    private static final String[] CLASSES = {
        "evloop.ScheduledTask", "evloop.net.Fd", "evloop.sys.NativeException", "evloop.sys.Errno",
        "evloop.tcp.Connection", "evloop.tcp.Connection$Io", "evloop.tcp.Connection$State", "evloop.tcp.Inbound",
        "evloop.tcp.PartialFrame", "evloop.tcp.OutputQueue", "evloop.tcp.OutputQueue$Chunk",
        "evloop.tcp.DisconnectCause", "evloop.tcp.FramingException", "evloop.tcp.ConnectionInfo", "evloop.tcp.Listener",
    };
    private static volatile boolean done;

    private Preload() {}

    static void reactor() {
        if (done) {
            return;
        }
        try {
            for (String c : CLASSES) {
                Class.forName(c, true, Preload.class.getClassLoader());
            }
            System.getLogger(TcpServer.class.getName()).isLoggable(Level.WARNING);
            java.time.ZoneId.systemDefault().getRules();
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("evloop: cannot load the reactor's classes", e);
        }
        done = true;
    }
}
