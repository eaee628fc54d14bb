package evloop;

import evloop.sys.Epoll;
import evloop.sys.Errno;
import evloop.sys.NativeException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The read table and the write table, keyed by fd, and the epoll registration derived from
 * them: an fd with a reader is watched for IN and RDHUP, one with a writer for OUT, one in
 * neither table is deleted from epoll. {@link #sync(int)} issues only the {@code epoll_ctl}
 * that changes something, so flipping a writer on and off costs one MOD each way.
 *
 * <p>Each registration gets a fresh generation number, stored with the fd in the 64-bit
 * {@code epoll_event.data} (as libev does). When a handler closes fd B and a new socket gets
 * B's number within the same turn, the batch's stale pair for B carries the old generation and
 * {@link #isCurrent} rejects it. Generation 0 is never handed out: it tags the loop's own
 * wake-up fd. Loop thread only.
 */
final class FdTable {
    private static final int READ_BITS = Epoll.EPOLLIN | Epoll.EPOLLRDHUP;

    private final Epoll epoll;
    private FdHandler[] readers = new FdHandler[64];
    private FdHandler[] writers = new FdHandler[64];
    private Trigger[] triggers = new Trigger[64];
    /** Bits currently registered with epoll, 0 when the fd is not registered. */
    private int[] registered = new int[64];
    private int[] generations = new int[64];
    private int nextGeneration = 1;
    private int count;

    FdTable(Epoll epoll) {
        this.epoll = epoll;
    }

    FdHandler reader(int fd) {
        return fd < readers.length ? readers[fd] : null;
    }

    FdHandler writer(int fd) {
        return fd < writers.length ? writers[fd] : null;
    }

    void setReader(int fd, FdHandler h) {
        ensure(fd);
        set(readers, fd, h);
    }

    void setWriter(int fd, FdHandler h) {
        ensure(fd);
        set(writers, fd, h);
    }

    /** Sets one table's entry and syncs epoll, restoring the entry if the kernel refuses. */
    private void set(FdHandler[] table, int fd, FdHandler h) {
        FdHandler old = table[fd];
        table[fd] = h;
        try {
            sync(fd);
        } catch (NativeException e) {
            table[fd] = old;
            throw new UncheckedIOException(e);
        }
    }

    void setTrigger(int fd, Trigger t) {
        ensure(fd);
        triggers[fd] = t;
        unchecked(fd);
    }

    /** Drops fd from both tables and from epoll; a no-op for an fd that is in neither. */
    void remove(int fd) {
        if (fd < 0 || fd >= readers.length) {
            return;
        }
        readers[fd] = null;
        writers[fd] = null;
        triggers[fd] = null;   // also for an fd in neither table that had only a mode set
        unchecked(fd);
    }

    private void unchecked(int fd) {
        try {
            sync(fd);
        } catch (NativeException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Registers a one-shot fd again with the same interest, after its event fired. */
    void rearm(int fd) {
        if (fd < registered.length && registered[fd] != 0) {
            try {
                epoll.modify(fd, registered[fd], data(fd));
            } catch (NativeException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** True if a pair with this generation still belongs to fd's current registration. */
    boolean isCurrent(int fd, int generation) {
        return fd >= 0 && fd < registered.length && registered[fd] != 0
            && generations[fd] == generation;
    }

    /** The generation of fd's current registration, 0 if it has none. */
    int generation(int fd) {
        return fd >= 0 && fd < registered.length && registered[fd] != 0 ? generations[fd] : 0;
    }

    int count() {
        return count;
    }

    private long data(int fd) {
        return ((long) generations[fd] << 32) | (fd & 0xffffffffL);
    }

    private void sync(int fd) throws NativeException {
        int want = (readers[fd] != null ? READ_BITS : 0) | (writers[fd] != null ? Epoll.EPOLLOUT : 0);
        if (want != 0 && triggers[fd] != null) {
            want |= triggers[fd].bits;
        }
        int have = registered[fd];
        if (want == have) {
            return;
        }
        if (want == 0) {
            registered[fd] = 0;
            count--;
            // The mode belongs to this registration: left here, it would pass to whichever fd
            // gets the number next (offReadable, offWritable, close: no remove() needed).
            triggers[fd] = null;
            deleteQuietly(fd);
        } else if (have == 0) {
            add(fd, want);
        } else {
            try {
                epoll.modify(fd, want, data(fd));
                registered[fd] = want;
            } catch (NativeException e) {
                if (e.errno() != Errno.ENOENT) {
                    throw e;
                }
                // The fd was closed without remove() (its owner bypassed Fd.closeOn) and the
                // number reused: the kernel dropped the old registration, so this is a new one.
                registered[fd] = 0;
                count--;
                add(fd, want);
            }
        }
    }

    private void add(int fd, int want) throws NativeException {
        int generation = nextGeneration++;
        if (nextGeneration == 0) {
            nextGeneration = 1;
        }
        generations[fd] = generation;
        epoll.add(fd, want, data(fd));
        registered[fd] = want;
        count++;
    }

    /**
     * EPOLL_CTL_DEL, tolerating an fd that was already closed (EBADF) or never reached the
     * kernel's set (ENOENT): the table entry is gone either way, which is what remove means.
     */
    private void deleteQuietly(int fd) throws NativeException {
        try {
            epoll.delete(fd);
        } catch (NativeException e) {
            if (e.errno() != Errno.EBADF && e.errno() != Errno.ENOENT) {
                throw e;
            }
        }
    }

    /** The table as data: one entry per registered fd. */
    List<FdInfo> snapshot() {
        List<FdInfo> out = new ArrayList<>(count);
        for (int fd = 0; fd < registered.length; fd++) {
            if (registered[fd] != 0) {
                out.add(new FdInfo(fd, Interest.decode(registered[fd]), readers[fd] != null,
                    writers[fd] != null, triggers[fd] == null ? Trigger.LEVEL : triggers[fd],
                    generations[fd]));
            }
        }
        return out;
    }

    private void ensure(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("negative fd: " + fd);
        }
        if (fd >= readers.length) {
            int n = Math.max(fd + 1, readers.length * 2);
            readers = Arrays.copyOf(readers, n);
            writers = Arrays.copyOf(writers, n);
            triggers = Arrays.copyOf(triggers, n);
            registered = Arrays.copyOf(registered, n);
            generations = Arrays.copyOf(generations, n);
        }
    }
}
