package evloop.tools;

import evloop.EventLoop;
import evloop.LoopHook;
import evloop.LoopStats;
import java.lang.System.Logger.Level;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Guard rails for one loop, on a {@link LoopHook} and a shared daemon checker thread. A turn
 * still running after the stall threshold means a handler blocks the loop thread; it is reported
 * once, with that thread's stack. More empty turns per second than the limit (turns without
 * pairs, timers or tasks) means the loop spins; reported once per episode. The loop thread only
 * writes two fields per turn; the checking happens on the checker thread.
 */
final class Watch implements LoopHook {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
    private static final ScheduledExecutorService CHECKER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "evloop-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final EventLoop loop;
    /** nanoTime when the current turn began; 0 while waiting. */
    private volatile long turnStarted;
    /** Turns that returned pairs: the rest of the turns had none. */
    private volatile long turnsWithPairs;
    private volatile long stalls;
    private volatile long spins;
    private volatile long checks;

    // Checker thread only (and configure, under the lock).
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

    @Override
    public void afterWait(EventLoop l, int pairs) {
        turnStarted = System.nanoTime();
        if (pairs > 0) {
            turnsWithPairs++;
        }
    }

    @Override
    public void beforeWait(EventLoop l) {
        turnStarted = 0;
    }

    long stalls() {
        return stalls;
    }

    long checks() {
        return checks;
    }

    long spins() {
        return spins;
    }

    /** Turns with nothing in them: no pairs, and fewer tasks and timers than turns could explain. */
    private long emptyTurns() {
        LoopStats s = loop.stats();
        return s.turns() - turnsWithPairs - s.tasks() - s.timers();
    }

    synchronized boolean configure(long stallMillis, int emptyTurnsPerSecond, Consumer<String> listener) {
        if (check != null) {
            check.cancel(false);
            check = null;
        }
        if (stallMillis <= 0 && emptyTurnsPerSecond <= 0) {
            return false;
        }
        this.stallNanos = stallMillis <= 0 ? Long.MAX_VALUE : TimeUnit.MILLISECONDS.toNanos(stallMillis);
        this.spinLimit = emptyTurnsPerSecond <= 0 ? Integer.MAX_VALUE : emptyTurnsPerSecond;
        this.listener = listener;
        this.lastCheck = System.nanoTime();
        this.lastEmpty = emptyTurns();
        long period = Math.max(1, Math.min(stallMillis <= 0 ? 100 : stallMillis / 2, 100));
        check = CHECKER.scheduleAtFixedRate(this::check, period, period, TimeUnit.MILLISECONDS);
        return true;
    }

    private synchronized void check() {
        try {
            if (loop.isClosed()) {
                configure(0, 0, null);
                return;
            }
            checkStall();
            checkSpin();
            checks++;
        } catch (Throwable t) {
            // The checker thread is shared by every watched loop: nothing may end it.
            LOG.log(Level.WARNING, "evloop watchdog check failed", t);
        }
    }

    private void checkStall() {
        long now = System.nanoTime();
        long started = turnStarted;
        // A loop nobody runs any more (run() returned, a REPL step ended) is not stalled: its
        // last turn's start is simply never cleared. The next turn starts with beforeWait.
        if (started != 0 && loop.isRunning() && started != reportedTurn && now - started > stallNanos) {
            reportedTurn = started;
            stalls++;
            Thread t = loop.thread();
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
    }

    private void checkSpin() {
        long now = System.nanoTime();
        if (now - lastCheck < TimeUnit.SECONDS.toNanos(1)) {
            return;
        }
        long empty = emptyTurns();
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

    private void report(String message) {
        LOG.log(Level.WARNING, message);
        if (listener != null) {
            try {
                listener.accept(message);
            } catch (Throwable e) {
                LOG.log(Level.WARNING, "watchdog listener failed", e);
            }
        }
    }
}
