package evloop;

import java.util.Arrays;

/**
 * The loop's {@link LoopHook}s and its {@link PauseGate}, each call guarded so that a tool that
 * throws is reported and the loop goes on. Hooks are kept in a copy-on-write array: adding one
 * is rare, calling them happens every turn, and with none the calls cost an empty loop.
 */
final class Hooks {
    private static final LoopHook[] NONE = {};

    private final Dispatcher errors;
    private volatile LoopHook[] hooks = NONE;
    private volatile PauseGate gate;

    Hooks(Dispatcher errors) {
        this.errors = errors;
    }

    synchronized void add(LoopHook h) {
        LoopHook[] now = hooks;
        LoopHook[] next = Arrays.copyOf(now, now.length + 1);
        next[now.length] = h;
        hooks = next;
    }

    synchronized void remove(LoopHook h) {
        LoopHook[] now = hooks;
        for (int i = 0; i < now.length; i++) {
            if (now[i] == h) {
                LoopHook[] next = new LoopHook[now.length - 1];
                System.arraycopy(now, 0, next, 0, i);
                System.arraycopy(now, i + 1, next, i, now.length - i - 1);
                hooks = next;
                return;
            }
        }
    }

    void setGate(PauseGate g) {
        gate = g;
    }

    boolean holds(EventLoop loop) {
        PauseGate g = gate;
        if (g == null) {
            return false;
        }
        try {
            return g.holds(loop);
        } catch (Throwable t) {
            errors.report(-1, t);
            return false;
        }
    }

    void beforeWait(EventLoop loop) {
        for (LoopHook h : hooks) {
            try {
                h.beforeWait(loop);
            } catch (Throwable t) {
                errors.report(-1, t);
            }
        }
    }

    void afterWait(EventLoop loop, int pairs) {
        for (LoopHook h : hooks) {
            try {
                h.afterWait(loop, pairs);
            } catch (Throwable t) {
                errors.report(-1, t);
            }
        }
    }

    void onTurn(EventLoop loop, long turn, Ready ready) {
        for (LoopHook h : hooks) {
            try {
                h.onTurn(loop, turn, ready);
            } catch (Throwable t) {
                errors.report(-1, t);
            }
        }
    }
}
