package evloop;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Run in a child JVM by tests that need more connections than one process's fd limit allows on
 * both ends: opens {@code n} connections to 127.0.0.1:{@code port}, prints "open N", and holds
 * them until its stdin closes.
 */
public final class HoldConnectionsChild {
    private HoldConnectionsChild() {}

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        int n = Integer.parseInt(args[1]);
        List<SocketChannel> held = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            held.add(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)));
        }
        System.out.println("open " + held.size());
        System.out.flush();
        while (System.in.read() >= 0) {
            // hold until the parent closes our stdin
        }
        for (SocketChannel c : held) {
            c.close();
        }
    }
}
