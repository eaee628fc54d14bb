package evloop.tcp;

import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The synchronous-looking API of the gevent idea: each connection runs a plain blocking
 * function on a virtual thread (JDK 21+). {@link LineChannel#readLine()} parks that virtual
 * thread until the loop delivers the next line; {@link LineChannel#write} hands bytes to the
 * loop. The code reads like a thread-per-connection server while one loop thread multiplexes
 * every socket. On JDK 17 {@link #handler} throws {@link UnsupportedOperationException}.
 */
public final class BlockingSessions {
    /** A connection's body, run on its own virtual thread; the connection closes when it returns. */
    @FunctionalInterface
    public interface Session {
        void run(LineChannel channel) throws Exception;
    }

    private static final Object EOF = new Object();
    /** Thread.ofVirtual(), Thread.Builder.name(String), Thread.Builder.start(Runnable): JDK 21 API, found reflectively so the jar still targets 17. */
    private static final Method OF_VIRTUAL;
    private static final Method NAME;
    private static final Method START;

    static {
        Method ofVirtual = null;
        Method name = null;
        Method start = null;
        try {
            Class<?> builder = Class.forName("java.lang.Thread$Builder");
            ofVirtual = Thread.class.getMethod("ofVirtual");
            name = builder.getMethod("name", String.class);
            start = builder.getMethod("start", Runnable.class);
        } catch (ReflectiveOperationException e) {
            ofVirtual = null;
        }
        OF_VIRTUAL = ofVirtual;
        NAME = name;
        START = start;
    }

    private BlockingSessions() {}

    /** True when this JVM has virtual threads. */
    public static boolean available() {
        return OF_VIRTUAL != null;
    }

    /** A handler that runs {@code session} on a virtual thread per connection. */
    public static TcpHandler handler(Session session) {
        if (!available()) {
            throw new UnsupportedOperationException("blocking sessions need virtual threads (JDK 21 or newer); this JVM is "
                + Runtime.version());
        }
        return new TcpHandler() {
            @Override
            public void onConnect(Connection conn) throws Exception {
                LineChannel ch = new LineChannel(conn);
                conn.attach(ch);
                startVirtual(() -> {
                    try {
                        session.run(ch);
                    } catch (Exception e) {
                        System.getLogger(BlockingSessions.class.getName())
                            .log(System.Logger.Level.WARNING, "session failed for " + conn, e);
                    } finally {
                        conn.close();
                    }
                }, "evloop-session-" + conn.fd());
            }

            @Override
            public void onMessage(Connection conn, ByteBuffer frame) {
                byte[] line = new byte[frame.remaining()];
                frame.get(frame.position(), line);
                ((LineChannel) conn.attachment()).inbox.add(line);
            }

            @Override
            public void onDisconnect(Connection conn, DisconnectCause cause) {
                ((LineChannel) conn.attachment()).inbox.add(EOF);
            }
        };
    }

    private static void startVirtual(Runnable r, String name) throws ReflectiveOperationException {
        START.invoke(NAME.invoke(OF_VIRTUAL.invoke(null), name), r);
    }

    /** The blocking view of one connection, used from its session's virtual thread. */
    public static final class LineChannel {
        private final Connection conn;
        final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
        private boolean eof;

        LineChannel(Connection conn) {
            this.conn = conn;
        }

        public Connection connection() {
            return conn;
        }

        /** The next line's bytes with its newline; blocks (parks) until it arrives; null at end of stream. */
        public byte[] readBytes() throws InterruptedException {
            if (eof) {
                return null;
            }
            Object o = inbox.take();
            if (o == EOF) {
                eof = true;
                return null;
            }
            return (byte[]) o;
        }

        /** The next line as UTF-8 text with its newline; null at end of stream. */
        public String readLine() throws InterruptedException {
            byte[] b = readBytes();
            return b == null ? null : new String(b, StandardCharsets.UTF_8);
        }

        public boolean write(byte[] bytes) {
            return conn.send(bytes);
        }

        public boolean write(String text) {
            return conn.send(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
