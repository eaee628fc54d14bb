package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Contracts of close() and stop() racing other threads or run() returning, each once broken and now held. */
class LoopCloseRaceTest {

    /**
     * schedule() checks `closed` and then adds to the inbox; finishClose cancels what is in the
     * inbox and then sets closed. A timer added in between is accepted (no exception) but is
     * neither run nor cancelled: isDone() stays false forever.
     */
    @Test
    void aTimerRacingCloseIsRefusedOrCancelledNeverLeftDangling() throws Exception {
        int orphans = 0;
        int rounds = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);   // the races showed within ~200 rounds
        while (orphans == 0 && System.nanoTime() < deadline) {
            rounds++;
            EventLoop loop = EventLoop.open();
            TestFds.runInBackground(loop, "loop");
            ConcurrentLinkedQueue<ScheduledTask> accepted = new ConcurrentLinkedQueue<>();
            AtomicBoolean go = new AtomicBoolean();
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                Thread p = new Thread(() -> {
                    while (!go.get()) {
                        Thread.onSpinWait();
                    }
                    try {
                        while (true) {
                            accepted.add(loop.schedule(1, TimeUnit.HOURS, () -> {}));
                        }
                    } catch (RejectedExecutionException closed) {
                        // done
                    }
                });
                p.start();
                producers.add(p);
            }
            go.set(true);
            TestFds.await("the producers to be scheduling", 5000, () -> accepted.size() >= 64);
            loop.close();
            for (Thread p : producers) {
                p.join(10_000);
            }
            for (ScheduledTask t : accepted) {
                if (!t.isDone()) {
                    orphans++;
                }
            }
        }
        assertEquals(0, orphans, "after " + rounds + " rounds: timers accepted by schedule() that never ran"
            + " and were never cancelled by close()");
    }

    /**
     * acquire() reads `closed` and then CASes the owner: a thread that read closed=false just
     * before another owner's leave() finished the close gets the loop after it was closed, and
     * turns it: epoll_wait on the released epoll fd (EBADF, or a reused number).
     */
    @Test
    void aClosedLoopCanNeverBeTurnedAgain() throws Exception {
        List<Throwable> bad = new CopyOnWriteArrayList<>();
        int rounds = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);   // the races showed within ~200 rounds
        while (bad.isEmpty() && System.nanoTime() < deadline) {
            rounds++;
            EventLoop loop = EventLoop.open();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> turners = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                Thread th = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            loop.runOnce(0);
                        } catch (IllegalStateException expected) {
                            if (loop.isClosed()) {
                                return;
                            }
                        } catch (Throwable other) {
                            bad.add(other);
                            return;
                        }
                    }
                });
                th.start();
                turners.add(th);
            }
            TestFds.await("the turners to be turning", 5000, () -> loop.stats().turns() >= 16);
            loop.close();
            stop.set(true);
            for (Thread th : turners) {
                th.join(10_000);
            }
        }
        assertEquals(List.of(), bad, "after " + rounds + " rounds, runOnce on a closed loop");
    }

    /**
     * close(false) (EventLoopGroup.close, or close() from another loop's thread) returns when it
     * sees the loop running; leave() decides whether to finish a close *before* it releases. A
     * close that lands between the two is finished by nobody: closing=true, closed=false, fds
     * held, tasks accepted before the close never run, and close() again is a no-op.
     */
    @Test
    void aCloseThatMeetsRunReturningIsAlwaysFinished() throws Exception {
        int orphaned = 0;
        int rounds = 0;
        java.util.Random rnd = new java.util.Random();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);   // the races showed within ~200 rounds
        while (orphaned == 0 && System.nanoTime() < deadline) {
            rounds++;
            EventLoop loop = EventLoop.open();
            Thread t = TestFds.runInBackground(loop, "loop");
            afterStopAtRandom(stopFromATask(loop), rnd, 2000);
            loop.closeWithoutWaiting();
            t.join(5000);
            if (!loop.isClosed()) {
                orphaned++;
                AtomicInteger ran = new AtomicInteger();
                boolean refused = false;
                try {
                    loop.execute(ran::incrementAndGet);
                } catch (RejectedExecutionException e) {
                    refused = true;
                }
                loop.close();   // a second close is a no-op
                assertTrue(loop.isClosed(), "round " + rounds + ": loop thread ended, close() returned, yet isClosed()="
                    + loop.isClosed() + ", running=" + loop.isRunning() + ", execute refused=" + refused);
            }
        }
    }

    /** Same race through the public EventLoopGroup.close(). */
    @Test
    void aGroupCloseMeetingRunReturningClosesEveryLoop() throws Exception {
        int rounds = 0;
        java.util.Random rnd = new java.util.Random();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);   // the races showed within ~200 rounds
        while (System.nanoTime() < deadline) {
            rounds++;
            EventLoopGroup g = EventLoopGroup.start(1, "g");
            EventLoop loop = g.loop(0);
            afterStopAtRandom(stopFromATask(loop), rnd, 2000);
            boolean ended = g.close(java.time.Duration.ofSeconds(5));
            if (ended && !loop.isClosed()) {
                loop.close();
                assertTrue(loop.isClosed(), "round " + rounds + ": group.close() returned true (threads ended),"
                    + " close() called again, yet the loop is not closed (fds held)");
            }
        }
    }

    /** The half-closed loop also drops tasks execute() accepted. */
    @Test
    void noAcceptedTaskIsDroppedWhenCloseMeetsRunReturning() throws Exception {
        java.util.Random rnd = new java.util.Random();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);   // the races showed within ~200 rounds
        int rounds = 0;
        int halfClosed = 0;
        while (System.nanoTime() < deadline) {
            rounds++;
            EventLoop loop = EventLoop.open();
            Thread t = TestFds.runInBackground(loop, "loop");
            java.util.concurrent.atomic.AtomicLong accepted = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.atomic.AtomicLong ran = new java.util.concurrent.atomic.AtomicLong();
            Thread producer = new Thread(() -> {
                try {
                    while (true) {
                        loop.execute(ran::incrementAndGet);
                        accepted.incrementAndGet();
                    }
                } catch (RejectedExecutionException done) {
                    // closing
                }
            });
            AtomicBoolean stopped = stopFromATask(loop);
            producer.start();
            afterStopAtRandom(stopped, rnd, 300);
            loop.closeWithoutWaiting();
            producer.join(5000);
            t.join(5000);
            if (!loop.isClosed()) {
                halfClosed++;
                assertEquals(accepted.get(), ran.get(), "round " + rounds + ": half-closed loop; accepted tasks that never ran: "
                    + (accepted.get() - ran.get()));
            }
        }
        assertEquals(0, halfClosed, rounds + " rounds with a producer: loops left half-closed (no accepted task was seen dropped)");
    }

    /**
     * stop() runs the tasks queued before it (a snapshot) and returns; a call() that saw the
     * loop serving and queued its query just after the snapshot waited its whole timeout on a
     * loop nobody ran any more.
     */
    @Test
    void aCallQueuedAfterStopsSnapshotIsAnsweredAtOnce() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            Thread t = TestFds.runInBackground(loop, "loop");
            CountDownLatch inFinalRun = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            loop.execute(() -> {
                loop.stop();
                for (int i = 0; i < 1023; i++) {
                    loop.execute(() -> {});   // with this task, a turn's share of 1024
                }
                loop.execute(() -> {          // left over: stop()'s snapshot runs it
                    inFinalRun.countDown();
                    try {
                        release.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            });
            assertTrue(inFinalRun.await(10, TimeUnit.SECONDS));
            java.util.concurrent.CompletableFuture<Object> answer = new java.util.concurrent.CompletableFuture<>();
            Thread caller = new Thread(() -> {
                try {
                    answer.complete(loop.call(() -> "answer", java.time.Duration.ofSeconds(30)));
                } catch (Throwable e) {
                    answer.complete(e);
                }
            }, "caller");
            caller.start();
            TestFds.await("the query to be queued and its caller waiting", 5000,
                () -> caller.getState() == Thread.State.TIMED_WAITING);
            release.countDown();
            t.join(5000);
            TestFds.await("the answer, on a loop that no longer runs", 5000, answer::isDone);
            assertEquals("answer", answer.get());
        }
    }

    /** Queues a task that stops the loop from inside; the flag turns true once stop() returned. */
    private static AtomicBoolean stopFromATask(EventLoop loop) {
        AtomicBoolean stopped = new AtomicBoolean();
        loop.execute(() -> {
            loop.stop();
            stopped.set(true);
        });
        return stopped;
    }

    /** Waits for {@code stopped}, then spins up to {@code maxSpins}: a close then meets run() returning anywhere. */
    private static void afterStopAtRandom(AtomicBoolean stopped, java.util.Random rnd, int maxSpins) {
        while (!stopped.get()) {
            Thread.onSpinWait();
        }
        for (int i = rnd.nextInt(maxSpins); i > 0; i--) {
            Thread.onSpinWait();
        }
    }
}
