package evloop;

import evloop.sys.Epoll;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * Readiness as epoll reports it, typed: {@link #IN}, {@link #OUT}, {@link #PRI}, {@link #ERR},
 * {@link #HUP}, {@link #RDHUP}. How an fd is registered (edge-triggered, one-shot) is a
 * different thing and lives in {@link Trigger} alone.
 *
 * <p>{@link #decode(int)} is the one place where the kernel's bit mask becomes a set. It returns
 * shared immutable sets from a table of every combination, so decoding allocates nothing and
 * can run once per event. Bits that are not readiness (EPOLLET is bit 31, a negative
 * {@code int}; EPOLLONESHOT) are ignored: the table index is built bit by bit, so the sign never
 * leaks.
 */
public enum Interest {
    /** Readable, or a listening socket has a connection to accept. */
    IN(Epoll.EPOLLIN),
    /** Writable. */
    OUT(Epoll.EPOLLOUT),
    /** Urgent (out-of-band) data. */
    PRI(Epoll.EPOLLPRI),
    /** An error is pending on the fd; always reported, never asked for. */
    ERR(Epoll.EPOLLERR),
    /** Hang-up: both directions are shut; always reported, never asked for. */
    HUP(Epoll.EPOLLHUP),
    /** The peer shut down its writing side (half-close). */
    RDHUP(Epoll.EPOLLRDHUP);

    private static final Interest[] ALL = values();
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static final Set<Interest>[] TABLE = new Set[1 << ALL.length];

    static {
        for (int index = 0; index < TABLE.length; index++) {
            EnumSet<Interest> set = EnumSet.noneOf(Interest.class);
            for (Interest i : ALL) {
                if ((index & (1 << i.ordinal())) != 0) {
                    set.add(i);
                }
            }
            TABLE[index] = Collections.unmodifiableSet(set);
        }
    }

    private final int mask;

    Interest(int mask) {
        this.mask = mask;
    }

    /**
     * The kernel's bit for this value.
     *
     * @return its {@code EPOLL*} bit
     */
    public int mask() {
        return mask;
    }

    /**
     * True if {@code bits} has this value's bit set.
     *
     * @param bits an epoll event mask
     * @return whether this readiness is in it
     */
    public boolean in(int bits) {
        return (bits & mask) != 0;
    }

    /**
     * The readiness in a kernel event mask, as a shared immutable set; never allocates.
     *
     * @param bits an epoll event mask; registration flags and unknown bits are ignored
     * @return the set of readiness values whose bits are in {@code bits}
     */
    public static Set<Interest> decode(int bits) {
        int index = 0;
        for (Interest i : ALL) {
            if ((bits & i.mask) != 0) {
                index |= 1 << i.ordinal();
            }
        }
        return TABLE[index];
    }

    /**
     * The kernel's bit mask for a set of readiness values.
     *
     * @param set readiness values
     * @return their bits, or-ed
     */
    public static int encode(Set<Interest> set) {
        int bits = 0;
        for (Interest i : set) {
            bits |= i.mask;
        }
        return bits;
    }
}
