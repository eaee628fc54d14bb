import evloop.EventLoop;
import evloop.tcp.ServerConfig;
import evloop.tcp.TcpHandler;
import evloop.tcp.TcpServer;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * What accepting an idle connection costs the Java echo's heap: bytes the loop thread allocates
 * to accept and adopt one connection, kept or garbage (the heap histogram of dev/bench-memory
 * says which are kept). The clients are this process's own blocking sockets, on another thread,
 * so their allocation does not count. A measurement, not a test (needs ulimit -n above 2N):
 *   java --enable-native-access=ALL-UNNAMED -cp target/classes:$(cat target/classpath.txt) dev/ConnCost.java [N]
 */
public class ConnCost {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (EventLoop loop = EventLoop.open()) {
            Thread t = new Thread(loop::run, "loop");
            t.start();
            TcpServer server = TcpServer.start(loop, new ServerConfig().port(0), (TcpHandler) (c, line) -> c.send(line));
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", server.port());
            for (int round = 0; round < 3; round++) {
                List<SocketChannel> clients = new ArrayList<>();
                long a0 = threads.getThreadAllocatedBytes(t.getId());
                for (int i = 0; i < n; i++) {
                    clients.add(SocketChannel.open(at));
                }
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (server.stats().active() < n && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                long a1 = threads.getThreadAllocatedBytes(t.getId());
                System.out.printf("round %d: %d connections: the loop thread allocated %.0f B per connection%n",
                    round, n, (a1 - a0) / (double) n);
                for (SocketChannel c : clients) {
                    c.close();
                }
                while (server.stats().active() > 0 && System.nanoTime() < deadline + 30_000_000_000L) {
                    Thread.onSpinWait();
                }
            }
            server.close();
            loop.stop();
        }
    }
}
