package evloop.tcp;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.FreshJvm;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

class TimeoutTest {
    private final List<DisconnectCause> causes = new CopyOnWriteArrayList<>();

    private TcpServer echo(ServerConfig cfg) {
        return TcpServer.start(cfg.port(0), new Recording(causes) {
            @Override
            public void onMessage(Connection c, ByteBuffer line) {
                c.send(line);
            }
        });
    }

    @Test
    void theIdleTimeoutClosesAQuietConnectionOnceButNotOneInUse() throws Exception {
        try (TcpServer s = echo(new ServerConfig().idleTimeout(Duration.ofMillis(300)));
             Client quiet = new Client(s.port());
             Client busy = new Client(s.port())) {
            // Traffic every 100 ms for 1 s: three idle periods pass, none of them idle.
            for (int i = 0; i < 10; i++) {
                busy.send("tick " + i + "\n");
                assertEquals("tick " + i + "\n", busy.line());
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));   // pacing the traffic, not waiting for it
            }
            assertTrue(quiet.atEof(), "the quiet one was closed");
            await("the disconnect to be reported", 5000, () -> !causes.isEmpty());
            assertEquals(List.of(DisconnectCause.IDLE_TIMEOUT), causes, "once, with its own cause; the busy one stays");
            busy.send("still here\n");
            assertEquals("still here\n", busy.line());
        }
    }

    @Test
    void aPeerThatHalfClosedIsNotASlowSenderItsLateAnswerStillArrives() throws Exception {
        // The answer comes four read timeouts after the peer's EOF: only the read timeout could
        // cut it off, and after EOF nothing more can be read, so it must not.
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).readTimeout(Duration.ofMillis(100)), new Recording(causes) {
                @Override
                public boolean onPeerClosed(Connection c) {
                    c.loop().schedule(400, TimeUnit.MILLISECONDS, () -> {
                        c.send("late\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                        c.close();
                    });
                    return true;
                }
            });
             Client c = new Client(s.port())) {
            c.send("question\n");
            c.socket.shutdownOutput();
            long timersBefore = s.loop().stats().timers();
            assertEquals("late\n", c.line());
            // The wait was 400 ms: a few timers at most, not a timer re-armed at 0 every turn.
            long fired = s.loop().stats().timers() - timersBefore;
            assertTrue(fired < 20, fired + " timers fired while the answer was pending");
            assertTrue(c.atEof());
            await("the disconnect to be reported", 5000, () -> !causes.isEmpty());
            assertEquals(List.of(DisconnectCause.PEER_CLOSED), causes);
        }
    }

    @Test
    void theReadTimeoutClosesAClientTricklingALineThatNeverEnds() throws Exception {
        try (TcpServer s = echo(new ServerConfig().readTimeout(Duration.ofMillis(500)));
             Client slowloris = new Client(s.port());
             Client honest = new Client(s.port())) {
            OutputStream out = slowloris.socket.getOutputStream();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            boolean closed = false;
            for (int i = 0; i < 100 && !closed && System.nanoTime() < deadline; i++) {
                try {
                    out.write('x');   // a byte every 50 ms: bytes flow, but no line ever completes
                    out.flush();
                    honest.send("line " + i + "\n");
                    assertEquals("line " + i + "\n", honest.line());
                } catch (java.io.IOException reset) {
                    closed = true;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                closed |= causes.contains(DisconnectCause.READ_TIMEOUT);
            }
            await("the trickler to be closed", 10_000, () -> causes.contains(DisconnectCause.READ_TIMEOUT));
            assertEquals(List.of(DisconnectCause.READ_TIMEOUT), causes, "only the trickler");
            assertEquals(1, s.stats().active());
        }
    }

    @Test
    void theWriteTimeoutResetsAConnectionWhoseOutputIsStuck() throws Exception {
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).writeTimeout(Duration.ofMillis(300)),
                new Recording(causes) {
                    @Override
                    public void onConnect(Connection c) {
                        byte[] lots = new byte[32 << 20];   // far more than the socket buffers hold
                        c.send(lots);
                    }
                });
             Client notReading = new Client(s.port())) {
            await("the stuck connection to be reset", 10_000, () -> !causes.isEmpty());
            assertEquals(List.of(DisconnectCause.WRITE_TIMEOUT), causes);
        }
    }

    @Test
    void anIdleOrReadTimeoutWithOutputStuckReportsItsOwnCauseWithoutWaitingForTheCloseTimeout() throws Exception {
        // The peer reads nothing, so the output cannot drain: the connection is reset at once,
        // and onDisconnect hears the timeout, not CLOSE_TIMEOUT after the 30 s close timeout.
        // (The watermark is above the output, so reading, and with it the clocks, goes on.)
        DisconnectCause[] expected = {DisconnectCause.IDLE_TIMEOUT, DisconnectCause.READ_TIMEOUT};
        for (DisconnectCause which : expected) {
            causes.clear();
            ServerConfig cfg = new ServerConfig().port(0).closeTimeout(Duration.ofSeconds(30)).watermarks(64 << 20, 64 << 20);
            cfg = which == DisconnectCause.IDLE_TIMEOUT ? cfg.idleTimeout(Duration.ofMillis(300)) : cfg.readTimeout(Duration.ofMillis(300));
            try (TcpServer s = TcpServer.start(cfg, new Recording(causes) {
                    @Override
                    public void onConnect(Connection c) {
                        c.send(new byte[32 << 20]);   // far more than the socket buffers hold
                    }
                });
                 Client notReading = new Client(s.port())) {
                long t0 = System.nanoTime();
                await(which + " to close it", 10_000, () -> !causes.isEmpty());
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(List.of(which), causes);
                assertTrue(ms < 5000, which + " took " + ms + " ms: it waited for the flush");
                assertEquals(0, s.stats().active());
            }
        }
    }

    @Test
    void theIdleAndReadClocksStandStillWhileThisSidePausesReading() throws Exception {
        // The server pauses reading for four timeouts: the peer's line waits in the socket, so
        // neither clock may run. Once reading resumes they run again and fire, once.
        for (DisconnectCause which : new DisconnectCause[] {DisconnectCause.IDLE_TIMEOUT, DisconnectCause.READ_TIMEOUT}) {
            causes.clear();
            ServerConfig cfg = new ServerConfig().port(0);
            cfg = which == DisconnectCause.IDLE_TIMEOUT ? cfg.idleTimeout(Duration.ofMillis(300)) : cfg.readTimeout(Duration.ofMillis(300));
            try (TcpServer s = TcpServer.start(cfg, new Recording(causes) {
                    @Override
                    public void onConnect(Connection c) {
                        c.pauseReading();
                        c.loop().schedule(1200, TimeUnit.MILLISECONDS, c::resumeReading);
                    }

                    @Override
                    public void onMessage(Connection c, ByteBuffer line) {
                        c.send(line);
                    }
                });
                 Client c = new Client(s.port())) {
                c.send("waited\n");
                assertEquals("waited\n", c.line(), which + " fired while reading was paused");
                assertEquals(List.of(), causes);
                assertTrue(c.atEof(), "quiet after resuming: " + which + " closes it");
                await("the disconnect to be reported", 5000, () -> !causes.isEmpty());
                assertEquals(List.of(which), causes);
            }
        }
    }

    @Test
    void theReadClockStandsStillWhileOutputBackpressurePausesReading() throws Exception {
        // The peer asks for more than the high watermark and does not read it for a while:
        // reading pauses for the backlog, and a peer waiting for its answer is not a slow sender.
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).readTimeout(Duration.ofMillis(1000)), new Recording(causes) {
                @Override
                public void onMessage(Connection c, ByteBuffer line) {
                    if (line.remaining() == 4) {
                        c.send(new byte[16 << 20]);   // "big\n": 16 MiB of zeros
                    }
                    c.send(line);
                }
            });
             Client c = new Client(s.port())) {
            c.send("big\n");
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2500));   // not reading: the condition under test
            c.readExactly(16 << 20);
            c.send("after\n");
            assertEquals("big\n", c.line(), "the answer came whole");
            assertEquals("after\n", c.line());
            assertEquals(List.of(), causes);
        }
    }

    @Test
    void aClientsOwnIdleAndReadTimeoutsCloseItsConnection() throws Exception {
        // The server sets none: the timeouts are the client's, from its ClientConfig.
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), (c, line) -> c.send(line));
             evloop.EventLoopGroup g = evloop.EventLoopGroup.start(1, "client")) {
            for (DisconnectCause which : new DisconnectCause[] {DisconnectCause.IDLE_TIMEOUT, DisconnectCause.READ_TIMEOUT}) {
                java.util.concurrent.CompletableFuture<DisconnectCause> ended = new java.util.concurrent.CompletableFuture<>();
                ClientConfig cfg = new ClientConfig().port(s.port());
                cfg = which == DisconnectCause.IDLE_TIMEOUT ? cfg.idleTimeout(Duration.ofMillis(300)) : cfg.readTimeout(Duration.ofMillis(300));
                Connection c = TcpClient.connect(g.loop(0), cfg, new Recording(causes) {
                    @Override
                    public void onDisconnect(Connection c, DisconnectCause cause) {
                        ended.complete(cause);
                    }
                }).get(10, TimeUnit.SECONDS);
                assertTrue(c.isOutbound());
                assertEquals(which, ended.get(10, TimeUnit.SECONDS));
            }
            await("the server to see both go", 5000, () -> s.stats().active() == 0);
        }
    }

    @Test
    void theWriteTimeoutWaitsWhileSlowOutputKeepsMovingAndFiresOnceWhenItSticks() throws Exception {
        int size = 16 << 20;
        AtomicInteger fired = new AtomicInteger();
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).writeTimeout(Duration.ofMillis(1000)), new Recording(causes) {
                @Override
                public void onConnect(Connection c) {
                    c.send(new byte[size]);   // read slowly but steadily: more than a second's worth
                }

                @Override
                public void onMessage(Connection c, ByteBuffer line) {
                    c.send(new byte[32 << 20]);   // never read: stuck
                }

                @Override
                public boolean onTimeout(Connection c, DisconnectCause which) {
                    fired.incrementAndGet();
                    return false;
                }
            });
             Client slow = new Client(s.port())) {
            java.io.InputStream in = slow.socket.getInputStream();
            byte[] chunk = new byte[256 << 10];
            long t0 = System.nanoTime();
            for (long read = 0; read < size; ) {
                int n = in.read(chunk, 0, (int) Math.min(chunk.length, size - read));
                assertTrue(n > 0, "the output kept coming; " + read + " bytes so far, then " + causes);
                read += n;
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));   // pacing the reader: at most 12.5 MiB/s
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms > 1000, "slower than the write timeout as a whole: " + ms + " ms");
            assertEquals(List.of(), causes, "no write timeout while the output moved");
            slow.send("more\n");
            await("the stuck output to be reset", 10_000, () -> !causes.isEmpty());
            assertEquals(List.of(DisconnectCause.WRITE_TIMEOUT), causes);
            assertEquals(1, fired.get(), "fired once");
        }
    }

    @Test
    void aHandlerCanKeepAConnectionThatTimedOut() throws Exception {
        AtomicInteger fired = new AtomicInteger();
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).idleTimeout(Duration.ofMillis(100)),
                new Recording(causes) {
                    @Override
                    public void onMessage(Connection c, ByteBuffer line) {
                        c.send(line);
                    }

                    @Override
                    public boolean onTimeout(Connection c, DisconnectCause which) {
                        return fired.incrementAndGet() < 3;   // keep it twice, then let it go
                    }
                });
             Client c = new Client(s.port())) {
            assertTrue(c.atEof());
            await("the disconnect to be reported", 5000, () -> !causes.isEmpty());
            assertEquals(3, fired.get(), "fired again after each keep");
            assertEquals(List.of(DisconnectCause.IDLE_TIMEOUT), causes);
        }
    }

    @Test
    void timeoutsCanBeChangedPerConnection() throws Exception {
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0), new Recording(causes) {
                @Override
                public void onConnect(Connection c) {
                    c.setTimeouts(Duration.ofMillis(200), Duration.ZERO, Duration.ZERO);
                }
            });
             Client c = new Client(s.port())) {
            assertTrue(c.atEof());
            await("the disconnect to be reported", 5000, () -> !causes.isEmpty());
            assertEquals(List.of(DisconnectCause.IDLE_TIMEOUT), causes);
        }
    }

    @Test
    void tenThousandIdleConnectionsWithTimeoutsDoNotSpinTheLoop() throws Exception {
        int n = 10_000;
        try (TcpServer s = echo(new ServerConfig().idleTimeout(Duration.ofMinutes(5)).readTimeout(Duration.ofMinutes(5))
                 .writeTimeout(Duration.ofMinutes(5)));
             FreshJvm clients = FreshJvm.start(n + 200, "evloop.HoldConnectionsChild", String.valueOf(s.port()),
                 String.valueOf(n))) {
            assertEquals("open " + n, clients.out.readLine(), clients.stderr());
            await("all accepted", 30_000, () -> s.stats().active() == n);
            assertEquals(n, s.loop().call(() -> s.loop().stats().pendingTimers()), "one timer per connection");
            long turns = s.loop().stats().turns();
            LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));   // a measuring window, not a wait
            long quietTurns = s.loop().stats().turns() - turns;
            assertTrue(quietTurns <= 5, "no turns while everything is idle: " + quietTurns);
            clients.process.getOutputStream().close();
            await("all closed", 30_000, () -> s.stats().active() == 0);
            assertEquals(0, s.loop().call(() -> s.loop().stats().pendingTimers()), "their timers went with them");
        }
    }

    @Test
    void keepingATimedOutConnectionAndReArmingNeverPilesUpTimers() throws Exception {
        java.util.concurrent.atomic.AtomicInteger fired = new java.util.concurrent.atomic.AtomicInteger();
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).idleTimeout(Duration.ofMillis(30)),
                new Recording(causes) {
                    @Override
                    public boolean onTimeout(Connection c, DisconnectCause which) {
                        fired.incrementAndGet();
                        c.setTimeouts(Duration.ofMillis(30), Duration.ZERO, Duration.ZERO);   // re-arm, then keep
                        return true;
                    }
                });
             Client c = new Client(s.port())) {
            await("ten keeps", 10_000, () -> fired.get() >= 10);
            int pending = s.loop().call(() -> s.loop().stats().pendingTimers());
            assertEquals(1, pending, "one timer per connection, however often it was kept");
        }
    }

    @Test
    void aClosingConnectionHearsNoMoreTimeouts() throws Exception {
        List<DisconnectCause> timeouts = new CopyOnWriteArrayList<>();
        try (TcpServer s = TcpServer.start(new ServerConfig().port(0).readTimeout(Duration.ofMillis(100))
                 .closeTimeout(Duration.ofMillis(800)), new Recording(causes) {
                @Override
                public void onConnect(Connection c) {
                    c.send(new byte[32 << 20]);   // more than the peer reads: the close has to wait
                    c.close();
                }
                @Override
                public boolean onTimeout(Connection c, DisconnectCause which) {
                    timeouts.add(which);
                    return false;
                }
            });
             Client notReading = new Client(s.port())) {
            await("the close to time out", 10_000, () -> !causes.isEmpty());
            assertEquals(List.of(DisconnectCause.CLOSE_TIMEOUT), causes);
            assertEquals(List.of(), timeouts, "the read timeout did not fire while closing");
        }
    }
}
