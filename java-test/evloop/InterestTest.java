package evloop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import evloop.sys.Epoll;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class InterestTest {
    @Test
    void decodesReadinessAndIgnoresRegistrationFlagsIncludingTheSignBit() {
        int bits = Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLET | Epoll.EPOLLONESHOT;
        assertTrue(bits < 0, "EPOLLET is bit 31");
        assertEquals(EnumSet.of(Interest.IN, Interest.RDHUP), Interest.decode(bits),
            "registration mode lives in Trigger only");
        assertEquals(EnumSet.allOf(Interest.class), Interest.decode(-1));
        assertEquals(Set.of(), Interest.decode(0));
    }

    @Test
    void roundTripsAndSharesInstances() {
        for (int i = 0; i < 1 << Interest.values().length; i++) {
            Set<Interest> s = Interest.decode(bitsOfIndex(i));
            assertEquals(s, Interest.decode(Interest.encode(s)));
            assertSame(s, Interest.decode(Interest.encode(s)), "decode allocates nothing");
        }
    }

    private static int bitsOfIndex(int index) {
        int bits = 0;
        for (Interest i : Interest.values()) {
            if ((index & (1 << i.ordinal())) != 0) {
                bits |= i.mask();
            }
        }
        return bits;
    }
}
