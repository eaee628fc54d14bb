package evloop;

import evloop.sys.Epoll;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * Typed epoll event bits. Readiness: {@link #IN}, {@link #OUT}, {@link #PRI}, {@link #ERR},
 * {@link #HUP}, {@link #RDHUP}; registration flags: {@link #ET}, {@link #ONESHOT}.
 *
 * <p>{@link #decode(int)} is the one place where the kernel's bit mask becomes a set. It returns
 * shared immutable sets from a table of every combination, so decoding allocates nothing and
 * can run once per event. {@code EPOLLET} is bit 31, a negative {@code int}; the table index is
 * built with unsigned shifts so the sign never leaks.
 */
public enum Interest {
    IN(Epoll.EPOLLIN),
    OUT(Epoll.EPOLLOUT),
    PRI(Epoll.EPOLLPRI),
    ERR(Epoll.EPOLLERR),
    HUP(Epoll.EPOLLHUP),
    RDHUP(Epoll.EPOLLRDHUP),
    ET(Epoll.EPOLLET),
    ONESHOT(Epoll.EPOLLONESHOT);

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

    /** The kernel's bit for this value. */
    public int mask() {
        return mask;
    }

    /** True if {@code bits} has this value's bit set. */
    public boolean in(int bits) {
        return (bits & mask) != 0;
    }

    /** The set of values whose bits are in {@code bits}; unknown bits are ignored. Never allocates. */
    public static Set<Interest> decode(int bits) {
        return TABLE[index(bits)];
    }

    /** The bit mask of {@code set}. */
    public static int encode(Set<Interest> set) {
        int bits = 0;
        for (Interest i : set) {
            bits |= i.mask;
        }
        return bits;
    }

    private static int index(int bits) {
        int index = 0;
        for (Interest i : ALL) {
            if ((bits & i.mask) != 0) {
                index |= 1 << i.ordinal();
            }
        }
        return index;
    }
}
