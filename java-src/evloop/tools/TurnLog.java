package evloop.tools;

import evloop.EventLoop;
import evloop.LoopHook;
import evloop.Ready;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A bounded record of the last turns' pairs, for looking back from a REPL, plus an optional
 * listener (Clojure's {@code tap>}) told of every turn. A {@link LoopHook}: attached only while
 * recording, because it copies the pairs of every turn. Written by the loop thread, read from
 * any thread. A listener that throws is reported by the loop like any hook; the loop goes on.
 */
final class TurnLog implements LoopHook {
    private final TurnRecord[] ring;
    private final Consumer<TurnRecord> listener;
    private long written;

    TurnLog(int capacity, Consumer<TurnRecord> listener) {
        this.ring = new TurnRecord[Math.max(1, capacity)];
        this.listener = listener;
    }

    @Override
    public void onTurn(EventLoop loop, long turn, Ready ready) {
        TurnRecord t = new TurnRecord(turn, ready.copy());
        synchronized (this) {
            ring[(int) (written++ % ring.length)] = t;
        }
        if (listener != null) {
            listener.accept(t);
        }
    }

    /** The recorded turns, oldest first. */
    synchronized List<TurnRecord> turns() {
        int n = (int) Math.min(written, ring.length);
        List<TurnRecord> out = new ArrayList<>(n);
        for (long i = written - n; i < written; i++) {
            out.add(ring[(int) (i % ring.length)]);
        }
        return out;
    }
}
