package evloop;

import static evloop.TestFds.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TaskQueueTest {
    @Test
    void tasksFromEightThreadsAllRunOnTheLoopInPerThreadOrder() throws Exception {
        int threads = 8;
        int perThread = 10_000;
        try (EventLoop loop = EventLoop.open()) {
            Thread loopThread = TestFds.runInBackground(loop, "loop");
            int[] last = new int[threads];
            java.util.Arrays.fill(last, -1);
            AtomicInteger outOfOrder = new AtomicInteger();
            AtomicInteger offThread = new AtomicInteger();
            AtomicInteger ran = new AtomicInteger();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread p = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < perThread; i++) {
                        int seq = i;
                        loop.execute(() -> {
                            if (Thread.currentThread() != loopThread) {
                                offThread.incrementAndGet();
                            }
                            if (last[id] != seq - 1) {
                                outOfOrder.incrementAndGet();
                            }
                            last[id] = seq;
                            ran.incrementAndGet();
                        });
                    }
                });
                p.start();
                producers.add(p);
            }
            go.countDown();
            for (Thread p : producers) {
                p.join(30_000);
            }
            await("all tasks to run", 30_000, () -> ran.get() == threads * perThread);
            assertEquals(0, offThread.get());
            assertEquals(0, outOfOrder.get());
            LoopStats s = loop.stats();
            System.out.println("execute: " + s.tasks() + " tasks, " + s.wakeups() + " eventfd writes");
            assertEquals(threads * perThread, s.tasks());
            assertTrue(s.wakeups() < threads * perThread / 10,
                "wake-ups are coalesced: " + s.wakeups() + " eventfd writes for " + s.tasks() + " tasks");
        }
    }
}
