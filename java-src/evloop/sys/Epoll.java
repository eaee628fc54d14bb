package evloop.sys;

import java.nio.ByteBuffer;
import jnr.ffi.Platform;

/**
 * One epoll instance and the array its {@code epoll_wait} fills, in off-heap memory.
 *
 * <p><b>Layout of {@code struct epoll_event}</b> ({@code uint32_t events; epoll_data_t data;}):
 * the kernel declares it {@code __attribute__((packed))} on x86_64 only, so there it is
 * 12 bytes with {@code data} at offset 4; every other architecture pads it to 16 bytes with
 * {@code data} at offset 8. A default JNR {@code Struct} would lay out the padded form and read
 * garbage on x86_64, so the layout is written down here, once, and proven against the kernel by
 * {@link #verifyLayout} before the first instance is handed out.
 *
 * <p>Not thread-safe: one thread (the event loop's) owns an instance.
 */
public final class Epoll implements AutoCloseable {
    /** Size of one {@code struct epoll_event}. */
    public static final int EVENT_SIZE;
    /** Offset of {@code data} in {@code struct epoll_event}. */
    public static final int DATA_OFFSET;

    // Event bits from <sys/epoll.h>. Interest#decode turns them into typed values.
    /** Readiness: readable, or a listening socket has a connection to accept. */
    public static final int EPOLLIN = 0x001;
    /** Readiness: urgent (out-of-band) data to read. */
    public static final int EPOLLPRI = 0x002;
    /** Readiness: writable. */
    public static final int EPOLLOUT = 0x004;
    /** Readiness: an error is pending on the fd; reported whether asked for or not. */
    public static final int EPOLLERR = 0x008;
    /** Readiness: hang-up, both directions shut; reported whether asked for or not. */
    public static final int EPOLLHUP = 0x010;
    /** Readiness: the peer shut down its writing side (half-close). */
    public static final int EPOLLRDHUP = 0x2000;
    /** Registration flag, not readiness: report one event, then disable the fd until {@link #modify} re-arms it. */
    public static final int EPOLLONESHOT = 1 << 30;
    /** Registration flag, not readiness: edge-triggered. Bit 31: negative as a Java int. */
    public static final int EPOLLET = 1 << 31;

    private static final int EPOLL_CLOEXEC = Native.O_CLOEXEC;
    private static final int CTL_ADD = 1;
    private static final int CTL_DEL = 2;
    private static final int CTL_MOD = 3;

    static {
        boolean packed = Platform.getNativePlatform().getCPU() == Platform.CPU.X86_64;
        EVENT_SIZE = packed ? 12 : 16;
        DATA_OFFSET = packed ? 4 : 8;
    }

    /**
     * Set once the layout check has passed. The check needs two fds, so it cannot run in a static
     * initialiser: out of fds there, the class would be unusable for the life of the JVM, even
     * after fds are free again. Instead every {@link #open} runs it until it has passed once, and
     * a transient EMFILE stays a transient EMFILE.
     */
    private static volatile boolean layoutVerified;

    private final Native nat;
    private final int epfd;
    private final int capacity;
    private final ByteBuffer events;
    private final long eventsAddress;
    private final ByteBuffer ctlEvent = Native.allocate(16);
    private final long ctlAddress = Native.address(ctlEvent);
    private boolean closed;

    /** Also the seam tests use to run an instance over a fake libc. */
    Epoll(Native nat, int epfd, int capacity) {
        this.nat = nat;
        this.epfd = epfd;
        this.capacity = capacity;
        this.events = Native.allocate(capacity * EVENT_SIZE);
        this.eventsAddress = Native.address(events);
    }

    /**
     * {@code epoll_create1(EPOLL_CLOEXEC)} with room for {@code capacity} events per wait. Until
     * the layout check has passed once, it runs first (see the class comment); a layout that
     * does not match the kernel's throws {@link IllegalStateException}.
     *
     * @param capacity the most events one {@link #await} returns; at least 1
     * @return a new instance that owns its epoll fd until {@link #close()}
     * @throws NativeException naming the call and errno when epoll_create1, or the layout
     *     check's eventfd, fails (EMFILE, say)
     * @throws IllegalArgumentException if {@code capacity} is below 1
     */
    public static Epoll open(int capacity) throws NativeException {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        if (!layoutVerified) {
            verifyLayout();
        }
        return create(capacity);
    }

    private static Epoll create(int capacity) throws NativeException {
        Native nat = Native.get();
        int epfd = nat.check(nat.libc.epoll_create1(EPOLL_CLOEXEC), "epoll_create1", "EPOLL_CLOEXEC");
        try {
            return new Epoll(nat, epfd, capacity);
        } catch (Throwable t) {
            // The events array is direct memory: running out of it is an OutOfMemoryError,
            // after which nobody but this method knows the epoll fd.
            nat.closeQuietly(epfd);
            throw t;
        }
    }

    /**
     * The epoll fd itself, which this instance owns and closes.
     *
     * @return the fd
     */
    public int fd() {
        return epfd;
    }

    /**
     * The most events one {@link #await} returns, as given to {@link #open}.
     *
     * @return the capacity
     */
    public int capacity() {
        return capacity;
    }

    /**
     * {@code epoll_ctl(EPOLL_CTL_ADD)}: starts watching {@code fd}.
     *
     * @param fd an fd not yet in this epoll set
     * @param eventBits the readiness bits to report and any registration flags
     *     ({@link #EPOLLET}, {@link #EPOLLONESHOT})
     * @param data the word the kernel hands back with every event of {@code fd} ({@link #data(int)})
     * @throws NativeException naming epoll_ctl, ADD, the fd and errno (EEXIST when already
     *     watched, EBADF for a closed fd)
     */
    public void add(int fd, int eventBits, long data) throws NativeException {
        ctl(CTL_ADD, "ADD", fd, eventBits, data);
    }

    /**
     * {@code epoll_ctl(EPOLL_CTL_MOD)}: replaces the bits and data word of a watched fd, which
     * also re-arms a one-shot fd.
     *
     * @param fd an fd in this epoll set
     * @param eventBits as for {@link #add}
     * @param data as for {@link #add}
     * @throws NativeException naming epoll_ctl, MOD, the fd and errno (ENOENT when not watched)
     */
    public void modify(int fd, int eventBits, long data) throws NativeException {
        ctl(CTL_MOD, "MOD", fd, eventBits, data);
    }

    /**
     * {@code epoll_ctl(EPOLL_CTL_DEL)}: stops watching {@code fd}.
     *
     * @param fd an fd in this epoll set
     * @throws NativeException naming epoll_ctl, DEL, the fd and errno (ENOENT when not watched,
     *     EBADF when already closed)
     */
    public void delete(int fd) throws NativeException {
        ctl(CTL_DEL, "DEL", fd, 0, 0);
    }

    private void ctl(int op, String opName, int fd, int eventBits, long data) throws NativeException {
        ctlEvent.putInt(0, eventBits);
        ctlEvent.putLong(DATA_OFFSET, data);
        if (nat.libc.epoll_ctl(epfd, op, fd, ctlAddress) == -1) {
            throw nat.error("epoll_ctl", opName + ", fd=" + fd, nat.errno());
        }
    }

    /**
     * Waits up to {@code timeoutMillis} (-1: forever, 0: poll) and returns how many events are
     * ready; read them with {@link #events(int)} and {@link #data(int)}. EINTR is retried with
     * the time left, so a signal never ends a wait early with an error, nor makes it longer.
     *
     * @param timeoutMillis the longest wait in milliseconds; -1 waits forever, 0 only polls
     * @return the number of ready entries, from 0 (the time ran out) to {@link #capacity()}
     * @throws NativeException naming epoll_wait and errno for any failure other than EINTR
     */
    public int await(int timeoutMillis) throws NativeException {
        return await(timeoutMillis, timeoutMillis > 0 ? System.nanoTime() : 0);
    }

    /**
     * {@link #await(int)} for a caller that has just read the clock (an event loop does, around
     * every wait), so that the wait itself reads it only after an EINTR.
     *
     * @param timeoutMillis the longest wait in milliseconds; -1 waits forever, 0 only polls
     * @param startNanos {@code System.nanoTime()} when the wait was asked for: retries after
     *     EINTR wait only what is left of {@code timeoutMillis} from then
     * @return the number of ready entries, from 0 (the time ran out) to {@link #capacity()}
     * @throws NativeException naming epoll_wait and errno for any failure other than EINTR
     */
    public int await(int timeoutMillis, long startNanos) throws NativeException {
        int wait = timeoutMillis;
        while (true) {
            int n = nat.libc.epoll_wait(epfd, eventsAddress, capacity, wait);
            if (n >= 0) {
                return n;
            }
            int errno = nat.errno();
            if (errno != Errno.EINTR) {
                throw nat.error("epoll_wait", "epfd=" + epfd + ", timeout=" + wait, errno);
            }
            // Retrying with the whole timeout would let a periodic signal (a profiler's, say)
            // postpone a due timer for ever.
            wait = Native.remaining(timeoutMillis, startNanos);
        }
    }

    /**
     * The event bits of ready entry {@code i} of the last wait.
     *
     * @param i an index below what the last {@link #await} returned
     * @return the readiness bits the kernel reported
     */
    public int events(int i) {
        return events.getInt(i * EVENT_SIZE);
    }

    /**
     * The data word of ready entry {@code i}, as registered.
     *
     * @param i an index below what the last {@link #await} returned
     * @return the word given to {@link #add} or {@link #modify} for that entry's fd
     */
    public long data(int i) {
        return events.getLong(i * EVENT_SIZE + DATA_OFFSET);
    }

    @Override
    public void close() throws NativeException {
        if (!closed) {
            closed = true;
            nat.close(epfd);
        }
    }

    /**
     * Proves the layout against the kernel: registers an eventfd with a data word whose every
     * byte differs, makes it readable and checks that the wait returns exactly that word and
     * EPOLLIN. A wrong offset or size would shift the bytes and fail here, not in production.
     * Failing to get the two fds throws the {@link NativeException} (EMFILE, say) and leaves the
     * check to the next call.
     */
    private static synchronized void verifyLayout() throws NativeException {
        if (layoutVerified) {
            return;
        }
        long probe = 0x0123_4567_89AB_CDEFL;
        try (Epoll ep = create(2); EventFd efd = EventFd.open()) {
            ep.add(efd.fd(), EPOLLIN, probe);
            efd.signal();
            int n = ep.await(1000);
            if (n != 1 || ep.data(0) != probe || ep.events(0) != EPOLLIN) {
                throw new IllegalStateException(String.format(
                    "struct epoll_event layout check failed on %s: assumed size %d, data at %d; "
                        + "epoll_wait returned n=%d, events=0x%x, data=0x%x (expected 1, 0x1, 0x%x)",
                    Platform.getNativePlatform().getCPU(), EVENT_SIZE, DATA_OFFSET,
                    n, n > 0 ? ep.events(0) : 0, n > 0 ? ep.data(0) : 0, probe));
            }
        }
        layoutVerified = true;
    }
}
