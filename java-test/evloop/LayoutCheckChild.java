package evloop;

import java.io.FileInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Run by {@link FdExhaustionTest} in a fresh JVM: opens the first event loop while the process
 * has no fd left, then again once fds are free, and prints what each attempt gave.
 */
public final class LayoutCheckChild {
    private LayoutCheckChild() {}

    public static void main(String[] args) throws Exception {
        // Load (without initialising) what opening a loop needs: a server that ran out of fds
        // has usually loaded its classes already; initialisation is what is under test.
        for (String c : new String[] {"evloop.EventLoop", "evloop.LoopCore", "evloop.sys.Epoll", "evloop.sys.EventFd",
            "evloop.TaskQueue", "evloop.FdTable", "evloop.Dispatcher", "evloop.Hooks", "evloop.Ready", "evloop.TimerQueue",
            "evloop.LoopOwner", "evloop.ScheduledTask", "evloop.sys.Errno", "evloop.sys.NativeException"}) {
            Class.forName(c, false, LayoutCheckChild.class.getClassLoader());
        }
        evloop.sys.Native.get();
        List<FileInputStream> hog = new ArrayList<>();
        try {
            while (true) {
                hog.add(new FileInputStream("/dev/null"));
            }
        } catch (IOException outOfFds) {
            // Every fd is taken now.
        }
        String first = attempt();
        for (FileInputStream f : hog) {
            f.close();
        }
        System.out.println("first=" + first);
        System.out.println("second=" + attempt());
        System.out.println("third=" + attempt());
    }

    private static String attempt() {
        try (EventLoop loop = EventLoop.open()) {
            return "ok";
        } catch (Throwable t) {
            return t.getClass().getName() + ": " + t.getMessage();
        }
    }
}
