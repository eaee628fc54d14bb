package evloop.examples;

import evloop.tcp.BatchHandler;
import evloop.tcp.ServerConfig;
import evloop.tcp.TcpServer;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The line echo server: writes back every complete line it receives, byte for byte, {@code \n}
 * included; bytes after the last newline wait for theirs.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp ... evloop.examples.EchoServer [options]
 *   --host H            address to bind (127.0.0.1)
 *   --port P            port, 0 to 65535 (6666; 0: any free port)
 *   --unix PATH         a Unix socket path (or @abstract-name) instead of TCP
 *   --loops N           loops and threads (1)
 *   --reuse-port        with --loops: a SO_REUSEPORT listener per loop
 *   --idle-timeout D    close connections idle for D (300s, 500ms, 5m; off by default)
 *   --read-timeout D    close connections that complete no line for D (slowloris)</pre>
 *
 * A bad option prints one line naming it and exits with status 2. SIGTERM or Ctrl-C close it
 * cleanly.
 */
public final class EchoServer {
    private static final String USAGE = "usage: EchoServer [--host H] [--port P | --unix PATH] [--loops N [--reuse-port]]"
        + " [--idle-timeout D] [--read-timeout D]";
    private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(ms|s|m|h)");
    /** The options that take a value: an unknown one is named as unknown, even without a value. */
    private static final java.util.Set<String> OPTIONS_WITH_VALUES =
        java.util.Set.of("--host", "--port", "--unix", "--loops", "--idle-timeout", "--read-timeout");

    private EchoServer() {}

    /** Thrown for a bad command line; main prints its message as one line and exits 2. */
    static final class BadOption extends Exception {
        private static final long serialVersionUID = 1L;

        BadOption(String message) {
            super(message, null, false, false);
        }
    }

    public static void main(String[] args) throws InterruptedException {
        ServerConfig cfg;
        try {
            cfg = parse(args);
        } catch (BadOption | IllegalArgumentException e) {
            System.err.println("EchoServer: " + e.getMessage() + " (--help for usage)");
            System.exit(2);
            return;
        }
        TcpServer server;
        try {
            // Every complete line of a read at once: an echo treats lines alike, so it need not
            // find each one's end, only the last (see BatchHandler).
            server = TcpServer.start(cfg, (BatchHandler) (conn, lines) -> conn.send(lines));
        } catch (RuntimeException e) {
            // Address in use, a bad path: one line that says which, no stack trace.
            String why = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
            System.err.println("EchoServer: cannot listen: " + why
                + (why.contains("EADDRINUSE") ? "; choose another with --port or --unix" : ""));
            System.exit(2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "evloop-shutdown"));
        String where = server.localAddress() != null
            ? server.localAddress().getAddress().getHostAddress() + ":" + server.port()
            : server.address().toString();
        System.out.println("evloop echo server listening on " + where
            + (server.loops().size() > 1 ? " with " + server.loops().size() + " loops" : ""));
        server.join();
    }

    static ServerConfig parse(String[] args) throws BadOption {
        ServerConfig cfg = new ServerConfig();
        boolean tcp = false;
        boolean unix = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help")) {
                System.out.println(USAGE);
                System.exit(0);
            }
            if (a.equals("--reuse-port")) {
                cfg.balance(TcpServer.Balance.REUSE_PORT);
                continue;
            }
            if (!a.startsWith("--")) {
                throw new BadOption("unexpected argument " + quote(a));
            }
            if (!OPTIONS_WITH_VALUES.contains(a)) {
                throw new BadOption("unknown option " + quote(a));
            }
            if (i + 1 >= args.length) {
                throw new BadOption(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--host" -> {
                    cfg.host(v);
                    tcp = true;
                }
                case "--port" -> {
                    cfg.port(number(a, v, 0, 65535));
                    tcp = true;
                }
                case "--unix" -> {
                    cfg.unixPath(v);
                    unix = true;
                }
                case "--loops" -> cfg.loops(number(a, v, 1, 1024));
                case "--idle-timeout" -> cfg.idleTimeout(duration(a, v));
                case "--read-timeout" -> cfg.readTimeout(duration(a, v));
                default -> throw new BadOption("unknown option " + quote(a));
            }
        }
        if (tcp && unix) {
            throw new BadOption("--unix serves a unix socket instead of TCP: use --port/--host or --unix, not both");
        }
        return cfg;
    }

    static int number(String option, String v, int min, int max) throws BadOption {
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new BadOption(option + " must be a number from " + min + " to " + max + ", got " + quote(v));
    }

    private static Duration duration(String option, String v) throws BadOption {
        Matcher m = DURATION.matcher(v);
        if (!m.matches()) {
            throw new BadOption(option + " must be a duration such as 300s, 500ms, 5m or 1h, got " + quote(v));
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
        if (d.compareTo(Duration.ofDays(36500)) > 0) {
            throw new BadOption(option + " must be at most 100 years, got " + quote(v));
        }
        return d;
    }

    private static String quote(String s) {
        return "\"" + s + "\"";
    }
}
