package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Randomised check of the indexed heap against a TreeSet, on the loop thread and through the inboxes. */
class TimerHeapFuzzTest {
    @Test
    void heapMatchesAReferenceUnderRandomAddCancelFire() throws Exception {
        Random rnd = new Random(42);
        for (int round = 0; round < 200; round++) {
            LoopOwner owner = new LoopOwner();
            TimerQueue q = new TimerQueue(owner);
            boolean onLoop = rnd.nextBoolean();
            if (onLoop) {
                owner.acquire(null);
            }
            TreeSet<ScheduledTask> ref = new TreeSet<>();
            List<ScheduledTask> all = new ArrayList<>();
            List<Long> fired = new ArrayList<>();
            long seq = 0;
            long now = 0;
            long base = System.nanoTime();
            for (int op = 0; op < 3000; op++) {
                int k = rnd.nextInt(10);
                if (k < 5) {
                    long id = seq;
                    ScheduledTask t = new ScheduledTask(q, ScheduledTask.deadline(base, now + rnd.nextInt(1000)), seq++,
                        () -> fired.add(id));
                    q.add(t);
                    ref.add(t);
                    all.add(t);
                } else if (k < 8 && !all.isEmpty()) {
                    ScheduledTask t = all.get(rnd.nextInt(all.size()));
                    if (t.cancel()) {
                        ref.remove(t);
                    }
                } else {
                    now += rnd.nextInt(200);
                    List<Long> expect = new ArrayList<>();
                    while (!ref.isEmpty() && ref.first().deadline <= ScheduledTask.since(base + now)) {
                        expect.add(ref.pollFirst().sequence);
                    }
                    fired.clear();
                    q.runDue(base + now, Runnable::run);
                    assertEquals(expect, fired, "round " + round + " op " + op);
                    q.millisUntilNext(base + now);
                    assertEquals(ref.size(), q.size(), "heap size vs live timers, round " + round);
                }
            }
            if (onLoop) {
                owner.releaseUnlessClosing();
            }
        }
    }
}
