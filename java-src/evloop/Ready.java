package evloop;

import evloop.sys.Epoll;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * The (fd, events) pairs of one turn, as an index-based view over arrays the loop reuses:
 * reading it allocates nothing. It is valid only during {@link TurnHandler#onTurn}; use
 * {@link #copy()} to keep the pairs. The loop's own wake-up eventfd never appears here.
 */
public final class Ready {
    private final int[] fds;
    private final int[] generations;
    private final int[] bits;
    private int size;

    Ready(int capacity) {
        fds = new int[capacity];
        generations = new int[capacity];
        bits = new int[capacity];
    }

    /**
     * Number of pairs in this turn.
     *
     * @return how many pairs; indexes run from 0 to one less
     */
    public int size() {
        return size;
    }

    /**
     * The fd of pair {@code i}.
     *
     * @param i from 0 to {@code size() - 1}
     * @return the fd epoll reported
     * @throws IndexOutOfBoundsException for an {@code i} outside that range
     */
    public int fd(int i) {
        check(i);
        return fds[i];
    }

    /**
     * The events of pair {@code i}.
     *
     * @param i from 0 to {@code size() - 1}
     * @return what epoll reported for the fd, as a shared immutable set: never allocated per call
     * @throws IndexOutOfBoundsException for an {@code i} outside that range
     */
    public Set<Interest> events(int i) {
        check(i);
        return Interest.decode(bits[i]);
    }

    /**
     * The pairs as an immutable list, to keep after the turn.
     *
     * @return a new list of the pairs, in this view's order
     */
    public List<FdEvent> copy() {
        List<FdEvent> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            out.add(new FdEvent(fds[i], Interest.decode(bits[i])));
        }
        return Collections.unmodifiableList(out);
    }

    @Override
    public String toString() {
        return copy().toString();
    }

    int generation(int i) {
        return generations[i];
    }

    int bits(int i) {
        return bits[i];
    }

    /** Refills the view from the kernel's array, leaving out the wake-up fd; returns whether it was present. */
    boolean fill(Epoll epoll, int n, int wakeFd) {
        boolean woken = false;
        int k = 0;
        for (int i = 0; i < n; i++) {
            long data = epoll.data(i);
            int fd = (int) data;
            if (fd == wakeFd && (int) (data >>> 32) == 0) {
                woken = true;
                continue;
            }
            fds[k] = fd;
            generations[k] = (int) (data >>> 32);
            bits[k] = epoll.events(i);
            k++;
        }
        size = k;
        return woken;
    }

    /** Sets synthetic pairs, each tagged with its fd's current registration so dispatch accepts it. */
    void fill(List<FdEvent> pairs, FdTable table) {
        if (pairs.size() > fds.length) {
            throw new IllegalArgumentException("at most " + fds.length + " pairs per turn");
        }
        size = 0;
        for (FdEvent e : pairs) {
            fds[size] = e.fd();
            generations[size] = table.generation(e.fd());
            bits[size] = Interest.encode(e.events());
            size++;
        }
    }

    private void check(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("pair " + i + " of " + size);
        }
    }
}
