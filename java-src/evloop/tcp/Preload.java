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
    /** Class literals, so the compiler keeps this list in step with the code. */
    private static final Class<?>[] CLASSES = {
        evloop.ScheduledTask.class, evloop.net.Fd.class, evloop.sys.NativeException.class, evloop.sys.Errno.class,
        Connection.class, Closing.class, Reader.class, Writer.class, Timeouts.class, OutputQueue.class, OutputQueue.Chunk.class, DisconnectCause.class, FramingException.class, ConnectionInfo.class,
        Listener.class, Connector.class, PeerCredentials.class,
    };
    private static volatile boolean done;

    private Preload() {}

    static void reactor() {
        if (done) {
            return;
        }
        try {
            for (Class<?> c : CLASSES) {
                Class.forName(c.getName(), true, c.getClassLoader());   // initialised, not just loaded
            }
            System.getLogger(TcpServer.class.getName()).isLoggable(Level.WARNING);
            java.time.ZoneId.systemDefault().getRules();
            // A listener closed from another thread parks its number (Fd.closeOn): the
            // placeholder is made now, not when the fds may have run out.
            evloop.sys.Descriptors.get().prepareParking();
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("evloop: cannot load the reactor's classes", e);
        }
        done = true;
    }
}
