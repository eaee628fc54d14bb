package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.RejectedExecutionException;
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
}
