package evloop.examples;

import evloop.tcp.ServerConfig;
import evloop.tcp.TcpServer;

/**
 * The line echo server: writes back every complete line it receives, byte for byte, {@code \n}
 * included; bytes after the last newline wait for theirs.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp ... evloop.examples.EchoServer [--host H] [--port P] [--loops N [--reuse-port]]</pre>
 *
 * Defaults: 127.0.0.1:6666, one loop. With {@code --loops N} connections spread over N loops
 * (least-loaded, or the kernel's SO_REUSEPORT hashing). SIGTERM or Ctrl-C close it cleanly.
 */
public final class EchoServer {
    private EchoServer() {}

    public static void main(String[] args) throws InterruptedException {
        ServerConfig cfg = new ServerConfig();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--host") && i + 1 < args.length) {
                cfg.host(args[++i]);
            } else if (a.equals("--port") && i + 1 < args.length) {
                cfg.port(Integer.parseInt(args[++i]));
            } else if (a.equals("--loops") && i + 1 < args.length) {
                cfg.loops(Integer.parseInt(args[++i]));
            } else if (a.equals("--reuse-port")) {
                cfg.balance(TcpServer.Balance.REUSE_PORT);
            } else if (a.matches("\\d+")) {
                cfg.port(Integer.parseInt(a));
            } else {
                System.err.println("usage: EchoServer [--host HOST] [--port PORT] [--loops N [--reuse-port]]");
                System.exit(2);
            }
        }
        TcpServer server = TcpServer.start(cfg, (conn, line) -> conn.send(line));
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "evloop-shutdown"));
        System.out.println("evloop echo server listening on " + server.localAddress().getAddress().getHostAddress()
            + ":" + server.port() + (server.loops().size() > 1 ? " with " + server.loops().size() + " loops" : ""));
        server.join();
    }
}
