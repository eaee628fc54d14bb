package evloop.tools;

import evloop.EventLoop;
import evloop.FdEvent;
import evloop.LoopHook;
import evloop.PauseGate;
import evloop.Ready;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Pause and step, on the loop's {@link PauseGate} and one {@link LoopHook}. While paused the
 * gate holds the loop: it stops polling its fds (connections stay open, the kernel buffers
 * their bytes) but still runs tasks, so every question a REPL asks still gets answered. A step
 * is a task that turns the held loop exactly once with {@link EventLoop#runOnce(int)}; the hook
 * copies that turn's pairs for the caller.
 */
final class PauseControl implements PauseGate, LoopHook {
    private final EventLoop loop;
    private volatile boolean paused;
    /** Set by a step while its turn runs (loop thread only). */
    private List<FdEvent> captured;

    PauseControl(EventLoop loop) {
        this.loop = loop;
    }

    @Override
    public boolean holds(EventLoop l) {
        return paused;
    }

    @Override
    public void onTurn(EventLoop l, long turn, Ready ready) {
        if (captured != null) {
            captured.addAll(ready.copy());
        }
    }

    boolean isPaused() {
        return paused;
    }

    void pause() {
        paused = true;
        loop.setPauseGate(this);
        if (loop.isRunning() && !loop.inLoop() && EventLoop.current() == null) {
            // Returns once the turn in progress has ended: from then on nothing is dispatched.
            // Not from another loop's thread, which never waits for a loop.
            loop.call(() -> null);
        }
    }

    void resume() {
        paused = false;
        loop.wakeup();
    }

    List<FdEvent> step(int timeoutMillis) {
        if (!loop.isRunning()) {
            return turnOnce(timeoutMillis);
        }
        if (loop.inLoop() || !paused) {
            throw new IllegalStateException(loop.inLoop()
                ? "step() from a handler would nest turns" : "pause() the loop before stepping it");
        }
        if (EventLoop.current() != null) {
            // A loop thread never waits for another loop (as pause() and EventLoop.call refuse).
            throw new IllegalStateException("step() from loop thread " + Thread.currentThread().getName()
                + " would block it on another loop: step from a thread of your own");
        }
        CompletableFuture<List<FdEvent>> f = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                // A step that timed out for its caller must not run later, unasked.
                if (!f.isDone()) {
                    try {
                        f.complete(turnOnce(timeoutMillis));
                    } catch (Throwable t) {
                        f.completeExceptionally(t);
                    }
                }
            });
            return f.get(Math.max(0, timeoutMillis) + 5000L, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("the loop is closed", e);
        } catch (Exception e) {
            f.cancel(false);
            throw new IllegalStateException("the loop did not step", e);
        }
    }

    private List<FdEvent> turnOnce(int timeoutMillis) {
        captured = new ArrayList<>();
        try {
            loop.runOnce(timeoutMillis);
            return List.copyOf(captured);
        } finally {
            captured = null;
        }
    }
}
