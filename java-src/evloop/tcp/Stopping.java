package evloop.tcp;

import evloop.EventLoop;
import evloop.EventLoopGroup;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * How a server or a client stops, the same way for both: its shards close their connections
 * gracefully within a grace period, what is left is reset, and then the loops it owns are
 * closed. A thread of its own does the waiting, so no loop thread ever waits for a loop; every
 * wait is bounded, so a loop blocked by a handler delays the stop but never hangs it.
 */
final class Stopping {
    private static final System.Logger LOG = System.getLogger(Stopping.class.getName());
    /** Slack on top of the grace period before the stop stops waiting for a flush. */
    static final long SLACK_MILLIS = 2000;

    private Stopping() {}

    /** Starts stopping {@code shards} (then {@code owned}, if not null); {@code done} completes when all is released. */
    static void start(String what, Shard[] shards, EventLoopGroup owned, Duration grace, CompletableFuture<Void> done,
                      Runnable whenStopped) {
        Thread t = new Thread(() -> stop(what, shards, owned, grace, done, whenStopped), "evloop-stop-" + what);
        t.setDaemon(true);
        t.start();
    }

    private static void stop(String what, Shard[] shards, EventLoopGroup owned, Duration grace,
                             CompletableFuture<Void> done, Runnable whenStopped) {
        long graceMillis = grace.toMillis();
        try {
            shutdown(shards, false);
            if (!awaitDrained(shards, plus(graceMillis, SLACK_MILLIS))) {
                LOG.log(Level.WARNING, what + " did not drain in time; resetting what is left");
                shutdown(shards, true);
                awaitDrained(shards, SLACK_MILLIS);
            }
        } catch (Throwable t) {
            LOG.log(Level.WARNING, what + " failed while stopping", t);
        } finally {
            try {
                if (owned != null && !owned.close(Duration.ofMillis(plus(graceMillis, SLACK_MILLIS)))) {
                    LOG.log(Level.WARNING, "a loop of " + what + " is still blocked by a handler;"
                        + " it releases its thread and fds when the handler returns");
                }
            } finally {
                whenStopped.run();
                done.complete(null);
            }
        }
    }

    /** How long close() waits for the whole stop: every bounded wait of {@link #stop}, added up. */
    static long closeWaitMillis(long closeTimeoutNanos) {
        long grace = TimeUnit.NANOSECONDS.toMillis(closeTimeoutNanos);
        return plus(plus(grace, grace), 4 * SLACK_MILLIS);
    }

    /** Hands each shard its shutdown; a loop nobody runs (or that is closed) is shut down here. */
    private static void shutdown(Shard[] shards, boolean now) {
        for (Shard s : shards) {
            if (!s.loop.isRunning() || !s.onLoop(() -> s.shutdown(now))) {
                s.shutdownAnywhere();
            }
        }
    }

    /** Waits for every shard to drain; false if {@code millis} passed first. */
    private static boolean awaitDrained(Shard[] shards, long millis) {
        CompletableFuture<?>[] all = new CompletableFuture<?>[shards.length];
        for (int i = 0; i < shards.length; i++) {
            all[i] = shards[i].drained;
        }
        try {
            CompletableFuture.allOf(all).get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            return false;
        }
    }

    /** Waits for {@code f}, boundedly, unless on a loop thread, where it never waits. */
    static void await(CompletableFuture<Void> f, long millis, String what) {
        if (EventLoop.current() != null) {
            return;
        }
        try {
            f.get(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.log(Level.WARNING, what + " did not finish stopping in time", e);
        }
    }

    static long plus(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }
}
