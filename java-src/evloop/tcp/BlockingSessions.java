package evloop.tcp;

import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The synchronous-looking API of the gevent idea: each connection runs a plain blocking
 * function on a virtual thread (JDK 21+). {@link LineChannel#readLine()} parks that virtual
 * thread until the loop delivers the next line; {@link LineChannel#write} hands bytes to the
 * loop. The code reads like a thread-per-connection server while one loop thread multiplexes
 * every socket. On JDK 17 {@link #handler} throws {@link UnsupportedOperationException}.
 *
 * <p>Both directions push back. The lines a session has not read yet wait in its inbox, which
 * is bounded: above {@value #INBOX_HIGH} bytes the connection stops reading (the peer is held
 * back by TCP, not by memory here), and at {@value #INBOX_LOW} it reads again; the lines of the
 * read in progress when the bound is crossed still arrive, so the inbox can exceed the bound by
 * one read. Pausing and resuming are decided on the loop thread only, from the inbox as it is
 * then, so a late resume can never undo a newer pause. And {@link LineChannel#write} parks the
 * session while the connection's output is above its high watermark.
 */
public final class BlockingSessions {
    /** A connection's body, run on its own virtual thread; the connection closes when it returns. */
    @FunctionalInterface
    public interface Session {
        /**
         * @param channel the connection, read and written in blocking style
         * @throws Exception logged; the connection closes either way
         */
        void run(LineChannel channel) throws Exception;
    }

    static final int INBOX_HIGH = 1 << 20;
    static final int INBOX_LOW = 256 << 10;
    private static final Object EOF = new Object();
    private static final ThreadFactory VIRTUAL = virtualThreadFactory();

    private BlockingSessions() {}

    /** Thread.ofVirtual().name(prefix, 0).factory(), a JDK 21 API found reflectively so the jar still targets 17. */
    private static ThreadFactory virtualThreadFactory() {
        try {
            Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
            Method name = Class.forName("java.lang.Thread$Builder").getMethod("name", String.class, long.class);
            builder = name.invoke(builder, "evloop-session-", 0L);
            return (ThreadFactory) Class.forName("java.lang.Thread$Builder").getMethod("factory").invoke(builder);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    /** @return true when this JVM has virtual threads */
    public static boolean available() {
        return VIRTUAL != null;
    }

    /**
     * @param session run per connection on a virtual thread of its own
     * @return a handler to give a {@link TcpServer}
     * @throws UnsupportedOperationException on a JVM without virtual threads (before JDK 21)
     */
    public static TcpHandler handler(Session session) {
        if (!available()) {
            throw new UnsupportedOperationException("blocking sessions need virtual threads (JDK 21 or newer); this JVM is "
                + Runtime.version());
        }
        return handler(session, VIRTUAL);
    }

    /** The handler, with the threads {@code threads} makes: tests use platform threads on JDK 17. */
    static TcpHandler handler(Session session, ThreadFactory threads) {
        return new TcpHandler() {
            @Override
            public void onConnect(Connection conn) {
                LineChannel ch = new LineChannel(conn);
                conn.attach(ch);
                threads.newThread(() -> {
                    try {
                        session.run(ch);
                    } catch (Exception e) {
                        System.getLogger(BlockingSessions.class.getName())
                            .log(System.Logger.Level.WARNING, "session failed for " + conn, e);
                    } finally {
                        conn.close();
                    }
                }).start();
            }

            @Override
            public void onMessage(Connection conn, ByteBuffer frame) {
                byte[] line = new byte[frame.remaining()];
                frame.get(frame.position(), line);
                ((LineChannel) conn.attachment()).arrived(line);
            }

            @Override
            public void onWritabilityChanged(Connection conn, boolean writable) {
                ((LineChannel) conn.attachment()).writable(writable);
            }

            @Override
            public void onDisconnect(Connection conn, DisconnectCause cause) {
                if (conn.attachment() instanceof LineChannel ch) {   // null if onConnect never ran
                    ch.closed();
                }
            }
        };
    }

    /** The blocking view of one connection, used from its session's virtual thread. */
    public static final class LineChannel {
        private final Connection conn;
        final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
        /** Bytes of the lines in the inbox: what the bound applies to. */
        private final AtomicLong queued = new AtomicLong();
        /** Reading paused for the inbox; loop thread only. */
        private boolean paused;
        /** A resume check is queued on the loop; set by the session, cleared by the check. */
        private final AtomicBoolean resumeAsked = new AtomicBoolean();
        /** A lock, not a monitor: waiting in a monitor pins a virtual thread to its carrier (JDK 21-23). */
        private final java.util.concurrent.locks.ReentrantLock writeLock = new java.util.concurrent.locks.ReentrantLock();
        private final java.util.concurrent.locks.Condition writableAgain = writeLock.newCondition();
        private volatile boolean writable = true;
        private volatile boolean open = true;
        private boolean eof;

        LineChannel(Connection conn) {
            this.conn = conn;
        }

        /** A line from the loop thread: queue it, and stop reading if the session falls behind. */
        void arrived(byte[] line) {
            inbox.add(line);
            if (queued.addAndGet(line.length) > INBOX_HIGH && !paused) {
                paused = true;
                conn.pauseReading();
            }
        }

        /** On the loop thread: resume if the inbox is still low now (it may have filled again). */
        private void resumeIfLow() {
            resumeAsked.set(false);
            if (paused && queued.get() <= INBOX_LOW) {
                paused = false;
                conn.resumeReading();
            }
        }

        void writable(boolean on) {
            writeLock.lock();
            try {
                writable = on;
                writableAgain.signalAll();
            } finally {
                writeLock.unlock();
            }
        }

        void closed() {
            open = false;
            inbox.add(EOF);
            writable(true);
        }

        /** @return the connection */
        public Connection connection() {
            return conn;
        }

        /** @return bytes waiting in the inbox */
        public long queuedBytes() {
            return queued.get();
        }

        /**
         * @return the next line's bytes with its newline, parking until it arrives; null at end of stream
         * @throws InterruptedException if the session's thread is interrupted
         */
        public byte[] readBytes() throws InterruptedException {
            if (eof) {
                return null;
            }
            Object o = inbox.take();
            if (o == EOF) {
                eof = true;
                return null;
            }
            byte[] line = (byte[]) o;
            if (queued.addAndGet(-line.length) <= INBOX_LOW && resumeAsked.compareAndSet(false, true)) {
                try {
                    conn.loop().execute(this::resumeIfLow);
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    // The loop is closing: nothing left to resume.
                }
            }
            return line;
        }

        /**
         * @return the next line as UTF-8 text with its newline; null at end of stream
         * @throws InterruptedException if the session's thread is interrupted
         */
        public String readLine() throws InterruptedException {
            byte[] b = readBytes();
            return b == null ? null : new String(b, StandardCharsets.UTF_8);
        }

        /**
         * Sends {@code bytes}, then parks while the connection's output is above its high
         * watermark, so a session writing to a slow peer is held back instead of queueing
         * without bound.
         *
         * @param bytes sent on the connection
         * @return false once the connection is closing
         * @throws InterruptedException if the session's thread is interrupted while parked
         */
        public boolean write(byte[] bytes) throws InterruptedException {
            boolean sent = conn.send(bytes);
            writeLock.lock();
            try {
                while (!writable && open) {
                    writableAgain.await();
                }
            } finally {
                writeLock.unlock();
            }
            return sent;
        }

        /**
         * @param text sent as UTF-8, as {@link #write(byte[])}
         * @return false once the connection is closing
         * @throws InterruptedException if the session's thread is interrupted while parked
         */
        public boolean write(String text) throws InterruptedException {
            return write(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
