package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.tools.LoopControl;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Contracts of calls, ownership, run() and timers, each once broken (found by an independent review) and now held. */
class LoopContractTest {

    /**
     * EventLoop.inject: "Loop thread, outside a turn (from a task, or while nobody runs the loop)".
     * LoopControl.inject: "every method is safe from any thread". On a running, unpaused loop the
     * task runs inside turn(), where inTurn is true, so inject always throws.
     */
    @Test
    void injectWorksFromATaskOfARunningLoop() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            TestFds.runInBackground(loop, "loop");
            int[] p = TestFds.pipe();
            List<Set<Interest>> seen = new CopyOnWriteArrayList<>();
            loop.call(() -> {
                loop.onReadable(p[0], (fd, ev) -> seen.add(ev));
                return null;
            });
            Throwable failure = null;
            try {
                LoopControl.of(loop).inject(List.of(new FdEvent(p[0], Set.of(Interest.IN))));
            } catch (Throwable t) {
                failure = t;
            }
            TestFds.close(p);
            assertEquals(null, failure, "LoopControl.inject on a running loop threw: " + failure);
            assertEquals(1, seen.size());
        }
    }

    /**
     * inject() refuses to run from a handler "because it would overwrite the turn being
     * dispatched", but a handler reached through inject() itself is not "in a turn": it can
     * inject again and overwrite the outer Ready, so later pairs of the outer batch are lost.
     */
    @Test
    void aHandlerReachedThroughInjectCannotOverwriteTheOuterBatch() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            int[] a = TestFds.pipe();
            int[] b = TestFds.pipe();
            int[] c = TestFds.pipe();
            List<String> seen = new CopyOnWriteArrayList<>();
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            loop.setErrorHandler((l, fd, t) -> errors.add(t));
            loop.onReadable(a[0], (fd, ev) -> {
                seen.add("a");
                loop.inject(List.of(new FdEvent(c[0], Set.of(Interest.IN))));
            });
            loop.onReadable(b[0], (fd, ev) -> seen.add("b"));
            loop.onReadable(c[0], (fd, ev) -> seen.add("c"));
            loop.inject(List.of(new FdEvent(a[0], Set.of(Interest.IN)), new FdEvent(b[0], Set.of(Interest.IN))));
            TestFds.close(a);
            TestFds.close(b);
            TestFds.close(c);
            // Either the nested inject is refused (an error reported, a and b dispatched), or the
            // outer batch is intact: b must be dispatched.
            assertTrue(seen.contains("b"), "the outer pair for b was dropped; seen=" + seen + " errors=" + errors);
        }
    }

    /**
     * LoopOwner.acquire/release set and *remove* the thread-local "loop running here". Using an
     * idle loop B (call(), runOnce(), close()) from loop A's thread wipes A's entry, so
     * EventLoop.current() on A's own thread answers null from then on, and every "never wait on a
     * loop thread" decision (stop, close, TcpServer.close, EventLoopGroup.close) is wrong there.
     */
    @Test
    void usingAnIdleLoopFromALoopThreadKeepsKnowingWhichLoopRunsThere() throws Exception {
        try (EventLoop a = EventLoop.open(); EventLoop idle = EventLoop.open()) {
            TestFds.runInBackground(a, "loop-a");
            EventLoop[] seen = new EventLoop[3];
            a.call(() -> {
                seen[0] = EventLoop.current();
                idle.call(() -> null);          // or idle.runOnce(0), idle.close(), idle.fds()
                seen[1] = EventLoop.current();
                return null;
            });
            seen[2] = a.call(EventLoop::current);
            assertSame(a, seen[0], "before");
            assertSame(a, seen[1], "after using an idle loop from a's thread, EventLoop.current() = " + seen[1]);
            assertSame(a, seen[2], "in a later task on a's thread, EventLoop.current() = " + seen[2]);
        }
    }

    /** Consequence: stop() of another (busy) loop, from a loop thread, now blocks that loop thread for 10 s. */
    @Test
    void stopOfABusyLoopFromALoopThreadNeverWaits() throws Exception {
        try (EventLoop a = EventLoop.open(); EventLoop busy = EventLoop.open(); EventLoop idle = EventLoop.open()) {
            TestFds.runInBackground(a, "loop-a");
            TestFds.runInBackground(busy, "loop-busy");
            CountDownLatch release = new CountDownLatch(1);
            busy.execute(() -> {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            long ms = a.call(() -> {
                idle.close();                   // an idle helper loop closed from a's thread
                long t0 = System.nanoTime();
                busy.stop();                    // documented: never waits from a loop's thread
                return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            }, java.time.Duration.ofSeconds(30));
            release.countDown();
            assertTrue(ms < 1000, "loop a's thread was blocked in stop() for " + ms + " ms");
        }
    }

    /** Watch: turnStarted is set in afterWait and only cleared in the next beforeWait. */
    @Test
    void theWatchdogReportsNoStallOnALoopNobodyRuns() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            LoopControl.of(loop).watch(50, 0, null);
            loop.runOnce(0);     // one turn from the REPL, then nobody runs the loop
            long checks = LoopControl.of(loop).watchChecks();
            // 20 checks 25 ms apart: well past the 50 ms a stall would take to be reported.
            TestFds.await("the watchdog to look 20 times", 10_000, () -> LoopControl.of(loop).watchChecks() >= checks + 20);
            long stalls = LoopControl.of(loop).stalls();
            LoopControl.of(loop).watch(0, 0, null);
            assertEquals(0, stalls, "stall reported although no turn is running");
        }
    }

    /** Same, after run() returned from stop(). */
    @Test
    void theWatchdogReportsNoStallAfterRunReturned() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            Thread t = TestFds.runInBackground(loop, "loop");
            LoopControl.of(loop).watch(50, 0, null);
            loop.stop();
            t.join(5000);
            long checks = LoopControl.of(loop).watchChecks();
            TestFds.await("the watchdog to look 20 times", 10_000, () -> LoopControl.of(loop).watchChecks() >= checks + 20);
            long stalls = LoopControl.of(loop).stalls();
            LoopControl.of(loop).watch(0, 0, null);
            assertEquals(0, stalls, "stall reported for a stopped loop");
        }
    }

    /**
     * compareTo orders by (deadline - other.deadline): with a timer at Long.MAX_VALUE ns ("never")
     * and one already due, the difference overflows and "never" sorts first, hiding the due timer.
     */
    @Test
    void aNeverTimerDoesNotHideADueOne() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            AtomicInteger ran = new AtomicInteger();
            long scheduled = System.nanoTime();
            loop.schedule(0, TimeUnit.NANOSECONDS, ran::incrementAndGet);
            while (System.nanoTime() - scheduled < TimeUnit.MILLISECONDS.toNanos(5)) {
                Thread.onSpinWait();   // the clock has moved past the first timer's deadline
            }
            loop.schedule(Long.MAX_VALUE, TimeUnit.NANOSECONDS, () -> {});
            loop.runOnce(100);
            loop.runOnce(100);
            assertEquals(1, ran.get(), "the due timer did not run");
        }
    }

    /** A throwing writer takes the reader's entry with it; only the writer hears failed(). */
    @Test
    void aFailingWriterTellsTheReadersOwnerToo() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            loop.setErrorHandler((l, fd, t) -> {});
            int[] s = evloop.sys.Descriptors.get().socketPair();
            List<String> told = new CopyOnWriteArrayList<>();
            loop.onReadable(s[0], new FdHandler() {
                @Override
                public void handle(int fd, Set<Interest> events) {}

                @Override
                public void failed(int fd, Throwable error) {
                    told.add("reader");
                }
            });
            loop.onWritable(s[0], new FdHandler() {
                @Override
                public void handle(int fd, Set<Interest> events) {
                    throw new IllegalStateException("writer bug");
                }

                @Override
                public void failed(int fd, Throwable error) {
                    told.add("writer");
                }
            });
            loop.runOnce(100);
            boolean readerStillRegistered = loop.fds().stream().anyMatch(i -> i.fd() == s[0]);
            TestFds.close(s);
            assertTrue(readerStillRegistered || told.contains("reader"),
                "reader removed without being told; told=" + told);
        }
    }

    private static boolean parked(Thread t) {
        Thread.State s = t.getState();
        return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING || s == Thread.State.BLOCKED;
    }

    /**
     * Table calls (onReadable, inject, ...) were allowed "while no thread runs the loop" without
     * taking it: a run() that started meanwhile turned the loop on the same tables, concurrently.
     * Here the call is an inject whose handler holds it open while a run() starts.
     */
    @Test
    void aTableCallFromAThreadWhileNobodyRunsTheLoopHoldsItUntilItReturns() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            int[] p = TestFds.pipe();
            AtomicBoolean inCall = new AtomicBoolean();
            AtomicBoolean turnedDuringCall = new AtomicBoolean();
            loop.addHook(new LoopHook() {
                @Override
                public void beforeWait(EventLoop l) {
                    if (inCall.get()) {
                        turnedDuringCall.set(true);
                    }
                }
            });
            Thread runner = new Thread(loop::run, "runner");
            runner.setDaemon(true);
            loop.onReadable(p[0], (fd, ev) -> {
                inCall.set(true);
                runner.start();
                TestFds.await("run() to wait for this call, or to turn the loop", 5000,
                    () -> turnedDuringCall.get() || parked(runner));
                inCall.set(false);
            });
            loop.inject(List.of(new FdEvent(p[0], Set.of(Interest.IN))));
            assertFalse(turnedDuringCall.get(), "run() turned the loop while another thread was inside a table call");
            TestFds.await("run() to take the loop once the call returned", 5000, () -> loop.thread() == runner);
            loop.stop();
            runner.join(5000);
            TestFds.close(p);
        }
    }

    /** Likewise a query: call() on a loop nobody runs holds it, and a run() started meanwhile waits for it. */
    @Test
    void runStartedWhileAnotherThreadQueriesAnIdleLoopWaitsForTheQuery() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            List<Throwable> runFailed = new CopyOnWriteArrayList<>();
            Thread runner = runner(loop, runFailed);
            loop.call(() -> {
                runner.start();
                TestFds.await("run() to wait for the query, or to give up", 5000,
                    () -> parked(runner) || !runner.isAlive());
                return null;
            });
            assertEquals(List.of(), runFailed, "run() refused to start because a query held the loop for a moment");
            TestFds.await("run() to take the loop once the query returned", 5000, () -> loop.thread() == runner);
            loop.stop();
            runner.join(5000);
        }
    }

    /**
     * run() waited for a borrowing call in one step and took the loop in the next: a second
     * call borrowing in between made run() throw "event loop is being run by thread main", and
     * the loop thread died. Calls made back to back while run() starts must only delay it.
     */
    @Test
    void runStartingBetweenBackToBackCallsNeverFindsTheLoopTaken() throws Exception {
        for (int round = 0; round < 200; round++) {
            try (EventLoop loop = EventLoop.open()) {
                List<Throwable> runFailed = new CopyOnWriteArrayList<>();
                Thread runner = runner(loop, runFailed);
                runner.start();
                for (int i = 0; i < 200 && loop.thread() != runner; i++) {
                    loop.call(() -> null);   // borrows while nobody runs the loop
                }
                TestFds.await("run() to take the loop", 5000, () -> loop.thread() == runner || !runner.isAlive());
                assertEquals(List.of(), runFailed, "round " + round + ": run() found the loop taken by a call");
                loop.stop();
                runner.join(5000);
            }
        }
    }

    /** A daemon thread, not started, that runs {@code loop} and keeps what run() threw in {@code failed}. */
    private static Thread runner(EventLoop loop, List<Throwable> failed) {
        Thread t = new Thread(() -> {
            try {
                loop.run();
            } catch (Throwable e) {
                failed.add(e);
            }
        }, "runner");
        t.setDaemon(true);
        return t;
    }

    private static Object answerOrError(EventLoop loop) {
        try {
            return loop.call(() -> "answer");
        } catch (RuntimeException e) {
            return e;
        }
    }

    /**
     * LoopOwner: "blocking calls made from a loop's thread on another loop ... refuse to wait".
     * call() did not: two loops' handlers calling each other's call() both waited the full 5 s.
     */
    @Test
    void callFromALoopThreadOnAnotherRunningLoopRefusesAtOnce() throws Exception {
        try (EventLoop a = EventLoop.open(); EventLoop b = EventLoop.open()) {
            TestFds.runInBackground(a, "loop-a");
            TestFds.runInBackground(b, "loop-b");
            java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
            long t0 = System.nanoTime();
            java.util.concurrent.CompletableFuture<Object> fromA = a.submit(() -> {
                together.await(10, TimeUnit.SECONDS);
                return answerOrError(b);
            });
            java.util.concurrent.CompletableFuture<Object> fromB = b.submit(() -> {
                together.await(10, TimeUnit.SECONDS);
                return answerOrError(a);
            });
            Object ra = fromA.get(30, TimeUnit.SECONDS);
            Object rb = fromB.get(30, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            for (Object r : List.of(ra, rb)) {
                assertTrue(r instanceof IllegalStateException && ((Exception) r).getMessage().contains("use submit()"),
                    "a clear refusal, not a wait for the other loop: " + r);
            }
            assertTrue(ms < 4000, "the loop threads were blocked for " + ms + " ms");
            assertEquals("answer", a.call(() -> "answer"), "from an ordinary thread call() still waits and answers");
        }
    }
}
