package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
}
