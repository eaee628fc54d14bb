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

    private static final int BEFORE_WAIT = 0;
    private static final int AFTER_WAIT = 1;
    private static final int ON_TURN = 2;
    private static final int ON_CLOSE = 3;

    void beforeWait(EventLoop loop) {
        call(BEFORE_WAIT, loop, 0, 0, null);
    }

    void afterWait(EventLoop loop, int pairs) {
        call(AFTER_WAIT, loop, pairs, 0, null);
    }

    void onTurn(EventLoop loop, long turn, Ready ready) {
        call(ON_TURN, loop, 0, turn, ready);
    }

    void onClose(EventLoop loop) {
        call(ON_CLOSE, loop, 0, 0, null);
    }

    /** Calls every hook's method {@code which}, guarded; an op code, not a lambda, so a turn allocates nothing. */
    private void call(int which, EventLoop loop, int pairs, long turn, Ready ready) {
        for (LoopHook h : hooks) {
            try {
                switch (which) {
                    case BEFORE_WAIT -> h.beforeWait(loop);
                    case AFTER_WAIT -> h.afterWait(loop, pairs);
                    case ON_TURN -> h.onTurn(loop, turn, ready);
                    default -> h.onClose(loop);
                }
            } catch (Throwable t) {
                errors.report(-1, t);
            }
        }
    }
}
