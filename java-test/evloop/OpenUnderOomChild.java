package evloop;

import java.io.File;

/**
 * Run by {@link EventLoopLifecycleTest} in a fresh JVM with little heap or direct memory: opens a
 * loop too big for it, and prints the error and how many fds the failed open left behind.
 */
public final class OpenUnderOomChild {
    private OpenUnderOomChild() {}

    public static void main(String[] args) throws Exception {
        EventLoop.open().close();   // the layout check and class loading, before counting
        int before = openFds();
        String error = "none";
        try {
            EventLoop.open(1 << 20).close();
        } catch (Throwable t) {
            error = t.getClass().getName() + ": " + t.getMessage();
        }
        System.out.println("error=" + error);
        System.out.println("leaked=" + (openFds() - before));
    }

    private static int openFds() {
        return new File("/proc/self/fd").list().length;
    }
}
