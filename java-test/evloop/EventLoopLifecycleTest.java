package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class EventLoopLifecycleTest {
    @Test
    void openRegisterCloseCyclesLeakNoFds() throws Exception {
        // Warm up class initialisation (and its self-test fds) before counting.
        EventLoop.open().close();
        int before = TestFds.openFds();
        for (int i = 0; i < 1000; i++) {
            try (EventLoop loop = EventLoop.open()) {
                int[] p = TestFds.pipe();
                loop.onReadable(p[0], (fd, ev) -> {});
                loop.onWritable(p[1], (fd, ev) -> {});
                loop.runOnce(0);
                loop.remove(p[0]);
                loop.remove(p[1]);
                TestFds.close(p);
            }
        }
        assertEquals(before, TestFds.openFds());
    }

    @Test
    void closeTwiceIsFineAndUseAfterCloseIsAClearError() throws Exception {
        EventLoop loop = EventLoop.open();
        loop.close();
        loop.close();
        assertTrue(loop.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> loop.runOnce(0));
        assertEquals("event loop is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> loop.onReadable(0, (fd, ev) -> {}));
        assertThrows(RejectedExecutionException.class, () -> loop.execute(() -> {}));
    }

    @Test
    void closeFromAnotherThreadStopsARunningLoop() throws Exception {
        EventLoop loop = EventLoop.open();
        Thread t = TestFds.runInBackground(loop, "loop");
        loop.close();
        t.join(5000);
        assertTrue(!t.isAlive() && loop.isClosed());
    }

    @Test
    void closeFromAHandlerReleasesWhenTheTurnEnds() throws Exception {
        EventLoop loop = EventLoop.open();
        loop.execute(loop::close);
        loop.run();
        assertTrue(loop.isClosed());
    }

    @Test
    void everyTaskAcceptedBeforeCloseRunsAndLaterOnesAreRefused() throws Exception {
        EventLoop loop = EventLoop.open();
        TestFds.runInBackground(loop, "loop");
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        loop.execute(() -> {
            started.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        started.await();
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 1000; i++) {
            loop.execute(ran::incrementAndGet);   // queued behind the slow task
        }
        Thread closer = new Thread(loop::close, "closer");
        closer.start();
        TestFds.await("close to start waiting for the loop", 5000,
            () -> closer.getState() == Thread.State.TIMED_WAITING);
        assertThrows(RejectedExecutionException.class, () -> loop.execute(() -> {}), "closing: new work is refused");
        release.countDown();
        closer.join(10_000);
        assertEquals(1000, ran.get(), "every accepted task ran");
        assertTrue(loop.isClosed());
        assertThrows(RejectedExecutionException.class, () -> loop.execute(() -> {}));
    }

    @Test
    void producersRacingACloseEitherRunOrAreToldTheyWereRefused() throws Exception {
        for (int round = 0; round < 20; round++) {
            EventLoop loop = EventLoop.open();
            TestFds.runInBackground(loop, "loop");
            AtomicLong accepted = new AtomicLong();
            AtomicLong ran = new AtomicLong();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread p = new Thread(() -> {
                    try {
                        go.await();
                        while (true) {
                            loop.execute(ran::incrementAndGet);
                            accepted.incrementAndGet();
                        }
                    } catch (RejectedExecutionException | InterruptedException refused) {
                        // the loop closed: this producer is done
                    }
                });
                p.start();
                producers.add(p);
            }
            go.countDown();
            TestFds.await("some work accepted", 5000, () -> accepted.get() > 1000);
            loop.close();
            for (Thread p : producers) {
                p.join(10_000);
            }
            assertEquals(accepted.get(), ran.get(), "round " + round + ": accepted tasks all ran, none dropped");
        }
    }

    @Test
    void stopRunsWhatWasQueuedBeforeItAndTheLoopRunsAgainAfterwards() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            Thread t = TestFds.runInBackground(loop, "loop");
            CountDownLatch release = new CountDownLatch(1);
            loop.execute(() -> {
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            AtomicInteger ran = new AtomicInteger();
            for (int i = 0; i < 100; i++) {
                loop.execute(ran::incrementAndGet);
            }
            Thread stopper = new Thread(loop::stop, "stopper");
            stopper.start();
            TestFds.await("stop to wait", 5000, () -> stopper.getState() == Thread.State.TIMED_WAITING);
            release.countDown();
            stopper.join(10_000);
            t.join(10_000);
            assertEquals(100, ran.get(), "queued before stop(), run before run() returned");
            loop.execute(ran::incrementAndGet);
            loop.runOnce(0);
            assertEquals(101, ran.get(), "a stopped loop is still usable");
        }
    }

    @Test
    void callRethrowsTheQueryOwnExceptionAtOnceAndSaysSoOnATimeout() throws Exception {
        try (EventLoop loop = EventLoop.open()) {
            TestFds.runInBackground(loop, "loop");
            long t0 = System.nanoTime();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> loop.call(() -> {
                    throw new IllegalArgumentException("bad query");
                }));
            assertEquals("bad query", e.getMessage());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(4), "not the 5 s timeout");
            CountDownLatch busy = new CountDownLatch(1);
            loop.execute(() -> {
                try {
                    busy.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            });
            IllegalStateException timeout = assertThrows(IllegalStateException.class,
                () -> loop.call(() -> 1, Duration.ofMillis(50)));
            assertTrue(timeout.getMessage().contains("did not answer within 50 ms"), timeout.getMessage());
            Thread.currentThread().interrupt();
            IllegalStateException interrupted = assertThrows(IllegalStateException.class, () -> loop.call(() -> 1));
            assertTrue(Thread.interrupted(), "the interrupt flag stays set");
            assertTrue(interrupted.getCause() instanceof InterruptedException);
            busy.countDown();
            assertEquals(2, loop.call(() -> 2));
        }
    }

    /** An Error inside open(), after the epoll fd or the eventfd exists, leaves no fd behind. */
    @Test
    void anOutOfMemoryErrorWhileOpeningLeaksNoFd() throws Exception {
        // Too little direct memory for the epoll_wait array: fails after epoll_create1.
        assertOpenFailsWithoutLeaking(List.of("-XX:MaxDirectMemorySize=1m"));
        // Room for the array but too little heap for the turn's pairs: fails after both fds exist.
        assertOpenFailsWithoutLeaking(List.of("-Xmx10m", "-XX:MaxDirectMemorySize=64m"));
    }

    private static void assertOpenFailsWithoutLeaking(List<String> jvmOptions) throws Exception {
        try (FreshJvm child = FreshJvm.start(1024, jvmOptions, "evloop.OpenUnderOomChild")) {
            String error = child.out.readLine();
            String leaked = child.out.readLine();
            assertTrue(error != null && error.contains("OutOfMemoryError"), jvmOptions + ": " + error + "\n" + child.stderr());
            assertEquals("leaked=0", leaked, jvmOptions + ": " + error);
        }
    }
}
