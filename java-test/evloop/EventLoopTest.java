package evloop;

import static evloop.TestFds.await;
import static evloop.TestFds.close;
import static evloop.TestFds.pipe;
import static evloop.TestFds.readBytes;
import static evloop.TestFds.writeBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.sys.EventFd;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class EventLoopTest {
    private final EventLoop loop = EventLoop.open();

    @AfterEach
    void closeLoop() {
        loop.close();
    }

    @Test
    void readableFdGoesToTheReadTable() throws Exception {
        int[] p = pipe();
        List<Set<Interest>> seen = new ArrayList<>();
        loop.onReadable(p[0], (fd, ev) -> {
            seen.add(ev);
            readBytes(fd, 16);
        });
        assertEquals(0, loop.runOnce(0), "nothing ready yet");
        writeBytes(p[1], 3);
        assertEquals(1, loop.runOnce(1000));
        assertEquals(List.of(Set.of(Interest.IN)), seen);
        close(p);
    }

    @Test
    void writableFdGoesToTheWriteTable() throws Exception {
        int[] p = pipe();
        AtomicInteger writes = new AtomicInteger();
        loop.onWritable(p[1], (fd, ev) -> {
            assertTrue(ev.contains(Interest.OUT));
            writes.incrementAndGet();
            loop.offWritable(fd);
        });
        loop.runOnce(1000);
        assertEquals(1, writes.get());
        assertEquals(0, loop.runOnce(0), "interest dropped with the write-table entry");
        assertTrue(loop.fds().isEmpty());
        close(p);
    }

    @Test
    void levelTriggeredFiresUntilDrained() throws Exception {
        int[] p = pipe();
        AtomicInteger calls = new AtomicInteger();
        loop.onReadable(p[0], (fd, ev) -> {
            calls.incrementAndGet();
            readBytes(fd, 1);
        });
        writeBytes(p[1], 3);
        for (int i = 0; i < 5; i++) {
            loop.runOnce(0);
        }
        assertEquals(3, calls.get(), "one call per byte, then silence");
        close(p);
    }

    @Test
    void edgeTriggeredFiresOncePerEdge() throws Exception {
        int[] p = pipe();
        AtomicInteger calls = new AtomicInteger();
        AtomicReference<Set<Interest>> events = new AtomicReference<>();
        loop.onReadable(p[0], (fd, ev) -> {
            calls.incrementAndGet();
            events.set(ev);
        });
        loop.setTrigger(p[0], Trigger.EDGE);
        assertEquals(Trigger.EDGE, loop.fds().get(0).trigger());
        assertEquals(Set.of(Interest.IN, Interest.RDHUP), loop.fds().get(0).interest());
        writeBytes(p[1], 3);
        loop.runOnce(1000);
        loop.runOnce(0);
        loop.runOnce(0);
        assertEquals(1, calls.get(), "unread data does not fire again");
        assertEquals(Set.of(Interest.IN), events.get());
        writeBytes(p[1], 1);
        loop.runOnce(1000);
        assertEquals(2, calls.get(), "a new edge fires again");
        close(p);
    }

    @Test
    void oneShotNeedsRearming() throws Exception {
        int[] p = pipe();
        AtomicInteger calls = new AtomicInteger();
        loop.onReadable(p[0], (fd, ev) -> calls.incrementAndGet());
        loop.setTrigger(p[0], Trigger.ONESHOT);
        writeBytes(p[1], 1);
        loop.runOnce(1000);
        loop.runOnce(0);
        assertEquals(1, calls.get());
        loop.rearm(p[0]);
        loop.runOnce(1000);
        assertEquals(2, calls.get());
        close(p);
    }

    @Test
    void turnHandlerSeesExactlyTheReadyPairs() throws Exception {
        int[] a = pipe();
        int[] b = pipe();
        int[] quiet = pipe();
        AtomicInteger dispatched = new AtomicInteger();
        for (int fd : new int[] {a[0], b[0], quiet[0]}) {
            loop.onReadable(fd, (f, ev) -> dispatched.incrementAndGet());
        }
        List<List<FdEvent>> turns = new ArrayList<>();
        loop.setTurnHandler((l, ready) -> turns.add(ready.copy()));
        writeBytes(a[1], 1);
        writeBytes(b[1], 1);
        loop.runOnce(1000);
        assertEquals(1, turns.size());
        assertEquals(Set.of(new FdEvent(a[0], Set.of(Interest.IN)), new FdEvent(b[0], Set.of(Interest.IN))),
            Set.copyOf(turns.get(0)));
        assertEquals(0, dispatched.get(), "the replaced callback did not dispatch");
        loop.setTurnHandler(null);
        loop.runOnce(1000);
        assertEquals(2, dispatched.get(), "the default callback dispatches again");
        close(a);
        close(b);
        close(quiet);
    }

    @Test
    void noCallbackForATurnWithoutEvents() {
        AtomicInteger calls = new AtomicInteger();
        loop.setTurnHandler((l, r) -> calls.incrementAndGet());
        loop.execute(() -> {});
        loop.runOnce(0);
        loop.runOnce(0);
        assertEquals(0, calls.get());
    }

    @Test
    void closedAndReusedFdIsNotDispatchedStalePairs() throws Exception {
        int[] a = pipe();
        int[] b = pipe();
        AtomicInteger newHandlerCalls = new AtomicInteger();
        AtomicInteger reusedFd = new AtomicInteger(-1);
        List<EventFd> opened = new ArrayList<>();
        FdHandler closer = (fd, ev) -> {
            if (reusedFd.get() >= 0) {
                return;
            }
            int other = fd == a[0] ? b[0] : a[0];
            loop.remove(other);
            close(other);
            EventFd fresh = EventFd.open();
            opened.add(fresh);
            reusedFd.set(fresh.fd());
            loop.onReadable(fresh.fd(), (f, e) -> newHandlerCalls.incrementAndGet());
        };
        loop.onReadable(a[0], closer);
        loop.onReadable(b[0], closer);
        writeBytes(a[1], 1);
        writeBytes(b[1], 1);
        loop.runOnce(1000);
        int closedFd = reusedFd.get() == a[0] ? a[0] : b[0];
        assertEquals(closedFd, reusedFd.get(), "the kernel reused the closed number");
        assertEquals(0, newHandlerCalls.get(), "the stale pair did not reach the new registration");
        assertEquals(1, loop.stats().stale());
        for (EventFd e : opened) {
            loop.remove(e.fd());
            e.close();
        }
        close(a[1], b[1], a[0] == closedFd ? b[0] : a[0]);
    }

    @Test
    void throwingHandlerDoesNotStopTheLoop() throws Exception {
        int[] bad = pipe();
        int[] good = pipe();
        List<Integer> errorsFor = new CopyOnWriteArrayList<>();
        loop.setErrorHandler((l, fd, t) -> {
            errorsFor.add(fd);
            l.remove(fd);
        });
        AtomicInteger served = new AtomicInteger();
        loop.onReadable(bad[0], (fd, ev) -> {
            throw new IllegalStateException("boom");
        });
        loop.onReadable(good[0], (fd, ev) -> {
            readBytes(fd, 16);
            served.incrementAndGet();
        });
        writeBytes(bad[1], 1);
        writeBytes(good[1], 1);
        loop.runOnce(1000);
        writeBytes(good[1], 1);
        loop.runOnce(1000);
        assertEquals(List.of(bad[0]), errorsFor);
        assertEquals(2, served.get());
        close(bad);
        close(good);
    }

    @Test
    void aThrowingHandlerLosesItsRegistrationButItsFdStaysOpenForItsOwner() throws Exception {
        int[] p = pipe();
        List<Throwable> toldOwner = new CopyOnWriteArrayList<>();
        loop.onReadable(p[0], new FdHandler() {
            @Override
            public void handle(int fd, Set<Interest> ev) {
                throw new AssertionError("deliberate: an Error, not an Exception; the default error handler logs it");
            }

            @Override
            public void failed(int fd, Throwable error) {
                toldOwner.add(error);
            }
        });
        writeBytes(p[1], 1);
        loop.runOnce(1000);
        assertTrue(loop.fds().isEmpty(), "out of the tables, so a level-triggered fd cannot spin");
        assertEquals(1, toldOwner.size(), "the owner heard of it");
        assertTrue(toldOwner.get(0) instanceof AssertionError);
        assertEquals(1, readBytes(p[0], 16), "the loop did not close an fd it does not own");
        close(p);
    }

    @Test
    void aRegistrationMadeUnderTheSameNumberDuringTheFailingCallIsKept() throws Exception {
        int[] p = pipe();
        int[][] replacement = new int[1][];
        AtomicInteger newCalls = new AtomicInteger();
        loop.onReadable(p[0], (fd, ev) -> {
            // The handler closes its fd, a new pipe gets the number, then the handler throws.
            loop.remove(fd);
            close(fd);
            replacement[0] = pipe();
            loop.onReadable(replacement[0][0], (f, e) -> {
                readBytes(f, 16);
                newCalls.incrementAndGet();
            });
            throw new IllegalStateException("deliberate: thrown after re-registering the number");
        });
        writeBytes(p[1], 1);
        loop.runOnce(1000);
        assertEquals(p[0], replacement[0][0], "the kernel reused the number");
        writeBytes(replacement[0][1], 1);
        loop.runOnce(1000);
        assertEquals(1, newCalls.get(), "the failure removed only the registration that failed");
        loop.remove(replacement[0][0]);
        close(p[1]);
        close(replacement[0]);
    }

    @Test
    void tableCallsFromAnotherThreadWhileRunningAreRefused() throws Exception {
        Thread t = TestFds.runInBackground(loop, "loop");
        int[] p = pipe();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> loop.onReadable(p[0], (f, ev) -> {}));
        assertTrue(e.getMessage().contains("use execute()"), e.getMessage());
        AtomicInteger reads = new AtomicInteger();
        loop.execute(() -> loop.onReadable(p[0], (f, ev) -> {
            readBytes(f, 1);
            reads.incrementAndGet();
        }));
        await("registration through execute", 5000, () -> loop.fds().size() == 1);
        writeBytes(p[1], 1);
        await("dispatch on the loop thread", 5000, () -> reads.get() == 1);
        loop.stop();
        assertFalse(t.isAlive() && loop.inLoop());
        t.join(5000);
        assertFalse(t.isAlive(), "stop() returned after the loop exited");
        close(p);
    }

    /** offReadable then close, without remove(): the next fd under that number starts level-triggered. */
    @Test
    void aTriggerLeavesWithTheRegistrationItWasSetFor() throws Exception {
        int[] p = pipe();
        loop.onReadable(p[0], (fd, ev) -> {});
        loop.setTrigger(p[0], Trigger.EDGE);
        loop.offReadable(p[0]);   // out of both tables: the registration is gone
        close(p);
        int[] q = pipe();
        assertEquals(p[0], q[0], "the kernel reused the number");
        AtomicInteger calls = new AtomicInteger();
        loop.onReadable(q[0], (fd, ev) -> calls.incrementAndGet());
        assertEquals(Trigger.LEVEL, loop.fds().get(0).trigger());
        writeBytes(q[1], 1);
        loop.runOnce(1000);
        loop.runOnce(0);
        assertEquals(2, calls.get(), "unread data fires again: level-triggered, not the old fd's EDGE");
        loop.remove(q[0]);
        close(q);
    }
}
