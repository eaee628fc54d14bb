package evloop.examples;

import evloop.tcp.ClientConfig;
import evloop.tcp.Connection;
import evloop.tcp.TcpClient;
import evloop.tcp.TcpHandler;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A load generator for line echo servers, built on evloop's own client: what the harness's C
 * {@code loadgen} does in echo mode, closed loop, so the two can be run against the same server
 * and compared. Each connection keeps {@code --pipeline} lines in flight and checks every byte
 * that comes back against what it sent.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp ... evloop.examples.EchoLoad [options]
 *   --host H  --port P  --conns C (10)  --pipeline P (1)  --size S (64, newline included)
 *   --seconds D (5, measured)  --warmup W (1)</pre>
 *
 * Prints one line: {@code RESULT conns=.. msgs=.. msgs_per_s=.. errors=..}; exit status 1 if
 * any byte differed or a connection was lost, 2 for a bad option.
 */
public final class EchoLoad {
    private final int size;
    private final int pipeline;
    private final AtomicLong echoed = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();

    private EchoLoad(int size, int pipeline) {
        this.size = size;
        this.pipeline = pipeline;
    }

    /** Line {@code seq} of a connection: its sequence number in decimal, padded with letters. */
    static byte[] line(long seq, int size) {
        byte[] b = new byte[size];
        fill(seq, b);
        return b;
    }

    private static void fill(long seq, byte[] b) {
        int digits = 0;
        for (long v = seq; digits == 0 || v > 0; v /= 10) {
            digits++;
        }
        // One division per line, not per byte: at 4 KiB a division per byte cost this load
        // generator more than the evloop client it measures.
        int letter = (int) (seq % 26);
        for (int i = 0; i < b.length - 1; i++) {
            b[i] = (byte) ('a' + letter);
            if (++letter == 26) {
                letter = 0;
            }
        }
        for (long v = seq, i = Math.min(digits, b.length - 1) - 1; i >= 0; v /= 10, i--) {
            b[(int) i] = (byte) ('0' + v % 10);
        }
        b[b.length - 1] = '\n';
    }

    /** One connection's state: the next line to send, and the next one expected back. */
    private final class Stream implements TcpHandler {
        private long sent;
        private long received;
        private final byte[] expected = new byte[size];

        @Override
        public void onConnect(Connection c) {
            for (int i = 0; i < pipeline; i++) {
                c.send(line(sent++, size));
            }
        }

        @Override
        public void onMessage(Connection c, ByteBuffer echo) {
            fill(received++, expected);
            if (!echo.equals(ByteBuffer.wrap(expected))) {
                errors.incrementAndGet();
                c.abort();
                return;
            }
            echoed.incrementAndGet();
            c.send(line(sent++, size));
        }
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = -1;
        int conns = 10;
        int pipeline = 1;
        int size = 64;
        double seconds = 5;
        double warmup = 1;
        try {
            for (int i = 0; i < args.length; i += 2) {
                String a = args[i];
                if (i + 1 >= args.length) {
                    throw new EchoServer.BadOption(a + " needs a value");
                }
                String v = args[i + 1];
                switch (a) {
                    case "--host" -> host = v;
                    case "--port" -> port = EchoServer.number(a, v, 1, 65535);
                    case "--conns" -> conns = EchoServer.number(a, v, 1, 100_000);
                    case "--pipeline" -> pipeline = EchoServer.number(a, v, 1, 10_000);
                    case "--size" -> size = EchoServer.number(a, v, 2, 1 << 20);
                    case "--seconds" -> seconds = EchoServer.number(a, v, 1, 3600);
                    case "--warmup" -> warmup = EchoServer.number(a, v, 0, 3600);
                    default -> throw new EchoServer.BadOption("unknown option " + a);
                }
            }
            if (port < 0) {
                throw new EchoServer.BadOption("--port is required");
            }
        } catch (EchoServer.BadOption e) {
            System.err.println("EchoLoad: " + e.getMessage());
            System.exit(2);
        }
        Result r = run(host, port, conns, pipeline, size, seconds, warmup);
        System.out.printf("RESULT conns=%d pipeline=%d size=%d secs=%.3f msgs=%d msgs_per_s=%.0f errors=%d lost=%d%n",
            conns, pipeline, size, r.secs(), r.msgs(), r.msgs() / r.secs(), r.errors(), r.lost());
        if (r.errors() > 0 || r.lost() > 0) {
            System.exit(1);
        }
    }

    /**
     * What a run measured.
     *
     * @param msgs lines echoed back intact in the measured window
     * @param secs the window's length
     * @param errors lines that came back different
     * @param lost connections that ended before the run did
     */
    record Result(long msgs, double secs, long errors, long lost) {}

    static Result run(String host, int port, int conns, int pipeline, int size, double seconds, double warmup)
            throws Exception {
        EchoLoad load = new EchoLoad(size, pipeline);
        // The handler is chosen per client, and a client of its own would be a loop of its own:
        // each connection's state rides on the one handler through the connection's attachment.
        TcpClient client = TcpClient.create(new ClientConfig().host(host).port(port), new TcpHandler() {
            @Override
            public void onConnect(Connection c) {
                Stream s = load.new Stream();
                c.attach(s);
                s.onConnect(c);
            }

            @Override
            public void onMessage(Connection c, ByteBuffer frame) {
                ((Stream) c.attachment()).onMessage(c, frame);
            }
        });
        try (client) {
            List<Connection> open = new ArrayList<>();
            for (int i = 0; i < conns; i++) {
                open.add(client.connect().get(10, TimeUnit.SECONDS));
            }
            TimeUnit.MILLISECONDS.sleep((long) (warmup * 1000));   // pacing the run, not waiting for a result
            long from = load.echoed.get();
            long t0 = System.nanoTime();
            TimeUnit.MILLISECONDS.sleep((long) (seconds * 1000));
            long n = load.echoed.get() - from;
            double secs = (System.nanoTime() - t0) / 1e9;
            long lost = open.stream().filter(c -> !c.isOpen()).count();
            return new Result(n, secs, load.errors.get(), lost);
        }
    }
}
