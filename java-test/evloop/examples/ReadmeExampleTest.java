package evloop.examples;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import evloop.EventLoop;
import evloop.net.Fd;
import evloop.net.Net;
import evloop.tcp.BatchHandler;
import evloop.tcp.ClientConfig;
import evloop.tcp.Connection;
import evloop.tcp.ServerConfig;
import evloop.tcp.TcpClient;
import evloop.tcp.TcpServer;
import evloop.tcp.TextHandler;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The README's Java example, compiled and run: what it shows must keep working as shown. */
class ReadmeExampleTest {
    @Test
    void theLoopOnAPipe() throws Exception {
        List<String> seen = new ArrayList<>();
        // README: begin loop
        try (EventLoop loop = EventLoop.open()) {
            Fd[] pipe = Net.pipe();                              // [read end, write end], owned here
            loop.onReadable(pipe[0].fd(), (fd, events) -> {     // the read table
                ByteBuffer buf = ByteBuffer.allocateDirect(256);
                try {
                    pipe[0].read(buf);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                seen.add(events + " " + buf.flip().remaining() + " bytes");
                loop.stop();
            });
            loop.setTurnHandler((l, ready) -> {                 // one callback per turn
                seen.add("turn: " + ready);
                l.dispatch(ready);                              // the default: to the tables
            });
            loop.execute(() -> seen.add("runs on the loop thread"));
            loop.schedule(10, TimeUnit.MILLISECONDS, () -> { /* a timer */ });
            pipe[1].write(ByteBuffer.allocateDirect(3).put("hi!".getBytes(UTF_8)).flip());   // direct: a native call reads it
            loop.run();
            pipe[0].closeOn(loop);                             // out of the tables, then closed
            pipe[1].close();
        }
        // README: end loop
        assertEquals(true, seen.contains("runs on the loop thread"), seen.toString());
        assertEquals(true, seen.contains("[IN] 3 bytes"), seen.toString());
        assertEquals(true, seen.stream().anyMatch(s -> s.matches("turn: \\[\\[\\d+ \\[IN\\]\\]\\]")), seen.toString());
    }

    @Test
    void serversAndAClient() throws Exception {
        List<String> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<String> answer = new CompletableFuture<>();
        // README: begin tcp
        // A line echo, each line a view of the read buffer, sent back without a copy:
        TcpServer echo = TcpServer.start(new ServerConfig().port(0), (conn, line) -> conn.send(line));
        // Every complete line of a read at once (an echo or a relay need not find each line's end):
        TcpServer batch = TcpServer.start(new ServerConfig().port(0), (BatchHandler) (conn, lines) -> conn.send(lines));
        // Lines as Strings, decoded by the loop:
        TcpServer upper = TcpServer.start(new ServerConfig().port(0),
            (TextHandler) (conn, line, frame) -> conn.send(line.toUpperCase().getBytes(UTF_8)));
        // A client connection on a loop of its own, closed with the connection:
        Connection c = TcpClient.connectOnce(new ClientConfig().port(upper.port()),
            (conn, line) -> answer.complete(UTF_8.decode(line).toString())).get(10, TimeUnit.SECONDS);
        c.send("hi\n".getBytes(UTF_8));
        // README: end tcp
        got.add(answer.get(10, TimeUnit.SECONDS));
        c.close();
        for (TcpServer s : List.of(echo, batch)) {
            CompletableFuture<String> back = new CompletableFuture<>();
            Connection e = TcpClient.connectOnce(new ClientConfig().port(s.port()),
                (conn, line) -> back.complete(UTF_8.decode(line).toString())).get(10, TimeUnit.SECONDS);
            e.send("echo\n".getBytes(UTF_8));
            got.add(back.get(10, TimeUnit.SECONDS));
            e.close();
        }
        echo.close();
        batch.close();
        upper.close();
        assertEquals(List.of("HI\n", "echo\n", "echo\n"), got);
    }
}
