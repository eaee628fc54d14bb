package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadFactory;
import org.junit.jupiter.api.Test;

class EventLoopGroupTest {
    @Test
    void eachLoopRunsOnItsOwnThreadAndCloseReleasesEverything() throws Exception {
        EventLoopGroup.start(1, "warm").close();
        int before = TestFds.openFds();
        EventLoopGroup g = EventLoopGroup.start(3, "grp");
        Set<String> threads = new HashSet<>();
        for (EventLoop l : g.loops()) {
            CompletableFuture<String> name = new CompletableFuture<>();
            l.execute(() -> name.complete(Thread.currentThread().getName()));
            threads.add(name.get(5, TimeUnit.SECONDS));
        }
        assertEquals(Set.of("grp-0", "grp-1", "grp-2"), threads);
        assertNotEquals(before, TestFds.openFds(), "each loop holds an epoll fd and an eventfd");
        g.close();
        g.close();
        for (EventLoop l : g.loops()) {
            assertTrue(l.isClosed());
        }
        assertTrue(TestFds.openFds() <= before, "all loop fds released");
    }

    /** An Error while starting (no thread for the second loop) closes the loop already running, and rethrows. */
    @Test
    void anErrorWhileStartingReleasesTheLoopsAlreadyStartedAndIsRethrown() throws Exception {
        EventLoopGroup.start(1, "warm").close();
        int before = TestFds.openFds();
        OutOfMemoryError noThread = new OutOfMemoryError("unable to create native thread (test)");
        List<Thread> made = new CopyOnWriteArrayList<>();
        ThreadFactory secondFails = r -> {
            if (!made.isEmpty()) {
                throw noThread;
            }
            Thread t = new Thread(r);
            made.add(t);
            return t;
        };
        OutOfMemoryError thrown = assertThrows(OutOfMemoryError.class,
            () -> EventLoopGroup.start(2, "failing", true, secondFails));
        assertSame(noThread, thrown, "the Error itself reaches the caller");
        made.get(0).join(5000);
        assertFalse(made.get(0).isAlive(), "the first loop, already running, was closed and its thread ended");
        TestFds.await("both loops' fds released", 5000, () -> TestFds.openFds() <= before);
    }
}
