package evloop;

import java.lang.System.Logger.Level;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Guard rails for one loop, checked from a shared daemon thread: a turn still running after
 * the stall threshold means a handler blocks the loop thread, and is reported once with that
 * thread's stack; more empty turns per second than the limit (no events, timers or tasks) means
 * the loop spins, reported once per episode. The loop thread only writes two volatile fields
 * per turn; the checking happens elsewhere.
 */
final class Watch {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
    private static final ScheduledExecutorService CHECKER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "evloop-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final EventLoop loop;
    /** nanoTime when the current turn's dispatch began; 0 while waiting in epoll_wait. */
    private volatile long turnStarted;
    private volatile long emptyTurns;
    private volatile long stalls;
    private volatile long spins;

    // Checker thread only.
    private ScheduledFuture<?> check;
    private long stallNanos;
    private int spinLimit;
    private Consumer<String> listener;
    private long reportedTurn;
    private long lastEmpty;
    private long lastCheck;
    private boolean spinning;

    Watch(EventLoop loop) {
        this.loop = loop;
    }

    void turnStarted() {
        turnStarted = System.nanoTime();
    }

    void turnEnded(boolean empty) {
        turnStarted = 0;
        if (empty) {
            emptyTurns++;
        }
    }

    long stalls() {
        return stalls;
    }

    long spins() {
        return spins;
    }

    synchronized void configure(long stallMillis, int emptyTurnsPerSecond, Consumer<String> listener) {
        if (check != null) {
            check.cancel(false);
            check = null;
        }
        if (stallMillis <= 0 && emptyTurnsPerSecond <= 0) {
            return;
        }
        this.stallNanos = stallMillis <= 0 ? Long.MAX_VALUE : TimeUnit.MILLISECONDS.toNanos(stallMillis);
        this.spinLimit = emptyTurnsPerSecond <= 0 ? Integer.MAX_VALUE : emptyTurnsPerSecond;
        this.listener = listener;
        this.lastCheck = System.nanoTime();
        this.lastEmpty = emptyTurns;
        long period = Math.max(1, Math.min(stallMillis <= 0 ? 100 : stallMillis / 2, 100));
        check = CHECKER.scheduleAtFixedRate(this::check, period, period, TimeUnit.MILLISECONDS);
    }

    synchronized void close() {
        if (check != null) {
            check.cancel(false);
        }
    }

    private synchronized void check() {
        long now = System.nanoTime();
        long started = turnStarted;
        if (started != 0 && started != reportedTurn && now - started > stallNanos) {
            reportedTurn = started;
            stalls++;
            Thread t = loop.ownerThread();
            StringBuilder msg = new StringBuilder("evloop: a turn has run for ")
                .append(TimeUnit.NANOSECONDS.toMillis(now - started))
                .append(" ms: a handler is blocking the loop thread");
            if (t != null) {
                msg.append(" (").append(t.getName()).append("), now at:");
                for (StackTraceElement e : t.getStackTrace()) {
                    msg.append("\n\tat ").append(e);
                }
            }
            report(msg.toString());
        }
        if (now - lastCheck >= TimeUnit.SECONDS.toNanos(1)) {
            long empty = emptyTurns;
            double rate = (empty - lastEmpty) * 1e9 / (now - lastCheck);
            boolean over = rate > spinLimit;
            if (over && !spinning) {
                spins++;
                report(String.format("evloop: the loop is spinning: %.0f turns/s without events, timers or tasks", rate));
            }
            spinning = over;
            lastEmpty = empty;
            lastCheck = now;
        }
    }

    private void report(String message) {
        LOG.log(Level.WARNING, message);
        if (listener != null) {
            try {
                listener.accept(message);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "watchdog listener failed", e);
            }
        }
    }
}
