package evloop;

import evloop.sys.Epoll;
import evloop.sys.NativeException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Turn-level control of a running loop from a REPL: while paused, the loop thread stops waiting
 * on its epoll set (connections stay open, the kernel buffers their bytes) and waits on a second
 * epoll set that holds only the wake-up eventfd, so tasks from {@code execute} (and with them
 * every question a REPL asks the loop) still run. A requested step runs exactly one real turn
 * and hands its pairs back to the requester.
 */
final class PauseControl {
    private record Step(int timeoutMillis, CompletableFuture<List<FdEvent>> result) {}

    private final Queue<Step> steps = new ConcurrentLinkedQueue<>();
    private volatile boolean paused;
    /** Only the wake-up eventfd: created by the loop thread on its first paused turn. */
    private Epoll wakeOnly;

    boolean isPaused() {
        return paused;
    }

    void setPaused(boolean on) {
        paused = on;
    }

    CompletableFuture<List<FdEvent>> requestStep(int timeoutMillis) {
        CompletableFuture<List<FdEvent>> f = new CompletableFuture<>();
        steps.add(new Step(timeoutMillis, f));
        return f;
    }

    /** One turn of a paused loop, on the loop thread. */
    void pausedTurn(EventLoop loop, TaskQueue tasks) {
        Step step = steps.poll();
        while (step != null && step.result.isDone()) {
            step = steps.poll();
        }
        if (step != null) {
            try {
                step.result.complete(loop.steppedTurn(step.timeoutMillis));
            } catch (RuntimeException e) {
                step.result.completeExceptionally(e);
            }
            return;
        }
        try {
            if (wakeOnly == null) {
                wakeOnly = Epoll.open(1);
                wakeOnly.add(tasks.fd(), Epoll.EPOLLIN, tasks.fd() & 0xffffffffL);
            }
            if (tasks.isEmpty() && steps.isEmpty() && paused) {
                wakeOnly.await(-1);
            }
        } catch (NativeException e) {
            throw new UncheckedIOException(e);
        }
        tasks.drainWakeup();
        loop.runQueuedTasks();
    }

    /** Fails the steps still queued: they can no longer run as asked. */
    void failSteps(String why) {
        Step s;
        while ((s = steps.poll()) != null) {
            s.result.completeExceptionally(new IllegalStateException(why));
        }
    }

    /** Fails requested steps that can no longer run, and releases the second epoll set. */
    void close() {
        failSteps("event loop stopped before the step ran");
        if (wakeOnly != null) {
            try {
                wakeOnly.close();
            } catch (NativeException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
