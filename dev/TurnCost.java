import evloop.EventLoop;
import java.nio.channels.Selector;

/**
 * Cost of a no-op turn: EventLoop.runOnce(0) (one epoll_wait through JNR with nothing ready)
 * against the JDK's Selector.selectNow() (one epoll_wait through the JDK's own JNI), measured
 * alternately in one process. A measurement, not a test:
 *   java --enable-native-access=ALL-UNNAMED -cp target/classes:$(cat target/classpath.txt) dev/TurnCost.java
 */
public class TurnCost {
    public static void main(String[] args) throws Exception {
        int n = 2_000_000;
        try (EventLoop loop = EventLoop.open(); Selector sel = Selector.open()) {
            for (int round = 0; round < 5; round++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    loop.runOnce(0);
                }
                long t1 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    sel.selectNow();
                }
                long t2 = System.nanoTime();
                double a = (t1 - t0) / (double) n;
                double b = (t2 - t1) / (double) n;
                System.out.printf("round %d: runOnce(0) %.0f ns/turn (%.2f M/s), selectNow() %.0f ns (%.2f M/s), ratio %.2f%n",
                    round, a, 1e3 / a, b, 1e3 / b, a / b);
            }
        }
    }
}
