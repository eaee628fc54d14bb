package evloop.tcp;

import evloop.net.Fd;
import evloop.net.UnixAddress;
import evloop.sys.Descriptors;
import evloop.sys.Errno;
import evloop.sys.NativeException;
import evloop.sys.SockAddr;
import evloop.sys.Sockets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A listening Unix socket and the file it lives at. Binding over a path whose socket nobody
 * listens on any more (a server that died) replaces it; over a live one fails with EADDRINUSE
 * naming the path; a path that exists but is not a socket is never touched.
 *
 * <p>The socket is bound under a temporary name beside the path, given its mode (before
 * {@code listen}, so nobody connects through a wider one), made to listen, and then published
 * with {@code link(2)}, which fails with EEXIST rather than replace anything: the path shows
 * only a socket that listens, with its mode, and never takes the place of a live socket or of
 * a file that appeared meanwhile. (rename(2) would replace them.) If the path exists, it is
 * judged: not a socket, or a socket that accepts (or whose backlog is full), refuses the
 * start; a socket whose connect is refused (ECONNREFUSED) is stale, so it is unlinked, if it
 * is still the same inode, and the link tried again, a few times at most.
 *
 * <p>Two servers that find the same stale file could otherwise both unlink, one of them the
 * other's fresh socket. So every step, from the link to the unlink of a stale file, runs under
 * an exclusive flock on the directory, which evloop's servers in every process take; only a
 * program that removes socket files without it could still race. (The mode is set with chmod on
 * the bound file, not with the umask, which is process-wide.) A directory this process cannot
 * open for the lock is used without it.
 *
 * <p>A path too long to leave room for the temporary name is bound directly, under the same
 * lock. On close the file is removed, but only if it is still the one this server created
 * (same inode): a later server may own the path by then. The peer name the kernel records is
 * the temporary one. Abstract names ({@code @name}) have no file, so none of this applies.
 */
final class UnixSocketFile {
    private static final System.Logger LOG = System.getLogger(UnixSocketFile.class.getName());
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;
    /** How often a stale file may be cleared before the path is taken for contested. */
    private static final int ATTEMPTS = 3;
    private static final long LOCK_WAIT_MILLIS = 5000;
    /** Tells temporary names apart within this process. */
    private static final AtomicLong TMP = new AtomicLong(ProcessHandle.current().pid() << 20);

    private final Path path;
    private final Object inode;

    private UnixSocketFile(Path path, Object inode) {
        this.path = path;
        this.inode = inode;
    }

    /** Opens the listener; returns its fd, and (for a path, not an abstract name) its file in {@code file[0]}. */
    @SuppressWarnings("try")   // the directory's lock is held by being open, never referenced
    static Fd listen(UnixAddress addr, int backlog, int mode, UnixSocketFile[] file) throws NativeException {
        Sockets sockets = Sockets.get();
        Fd fd = Fd.own(sockets.unixStream());
        try {
            if (addr.isAbstract()) {
                sockets.bindUnix(fd.fd(), addr.path());
                sockets.listen(fd.fd(), backlog);
                return fd;
            }
            Path target = Path.of(addr.path());
            try (Fd lock = lockDirectory(target.toAbsolutePath().getParent())) {
                file[0] = new UnixSocketFile(target, publish(fd, target, backlog, mode));
            }
            return fd;
        } catch (NativeException | RuntimeException e) {
            fd.close();
            throw e;
        } catch (IOException e) {
            fd.close();
            throw new UncheckedIOException("setting up the unix socket " + addr.path() + ": " + e.getMessage(), e);
        }
    }

    /** The directory's lock, or null if this process cannot open the directory. */
    private static Fd lockDirectory(Path dir) throws NativeException {
        try {
            return Fd.own(Descriptors.get().lockDirectory(dir.toString(), LOCK_WAIT_MILLIS));
        } catch (NativeException e) {
            if (e.syscall().equals("flock")) {
                throw e;   // another holder kept it past the wait: say so rather than race it
            }
            LOG.log(Level.DEBUG, "cannot lock " + dir + " while binding a unix socket there; binding without", e);
            return null;   // try-with-resources closes nothing
        }
    }

    /** Binds, sets the mode, listens and makes the socket appear at {@code target}; returns its inode. */
    private static Object publish(Fd fd, Path target, int backlog, int mode) throws NativeException, IOException {
        Sockets sockets = Sockets.get();
        Path tmp = target.resolveSibling(target.getFileName() + "." + Long.toHexString(TMP.incrementAndGet()) + "~");
        if (tmp.toString().getBytes(StandardCharsets.UTF_8).length > SockAddr.MAX_UNIX_PATH) {
            return publishDirectly(fd, target, backlog, mode);
        }
        try {
            try {
                sockets.bindUnix(fd.fd(), tmp.toString());
            } catch (NativeException e) {
                throw e.withDetail(target.toString());   // the user's path, not the temporary name
            }
            Object inode = inode(tmp);
            setMode(tmp, mode);
            sockets.listen(fd.fd(), backlog);
            for (int attempt = 1; ; attempt++) {
                try {
                    Files.createLink(target, tmp);   // link(2): EEXIST rather than replace
                    return inode;
                } catch (FileAlreadyExistsException taken) {
                    clearStale(target, attempt);
                }
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** For a path too long for a temporary name beside it: bind it as is. */
    private static Object publishDirectly(Fd fd, Path target, int backlog, int mode) throws NativeException, IOException {
        Sockets sockets = Sockets.get();
        for (int attempt = 1; ; attempt++) {
            try {
                sockets.bindUnix(fd.fd(), target.toString());
                break;
            } catch (NativeException e) {
                if (e.errno() != Errno.EADDRINUSE) {
                    throw e;
                }
                clearStale(target, attempt);
            }
        }
        Object inode = inode(target);
        try {
            setMode(target, mode);
            sockets.listen(fd.fd(), backlog);
            return inode;
        } catch (IOException | RuntimeException e) {
            new UnixSocketFile(target, inode).remove();   // a start that fails leaves no file
            throw e;
        }
    }

    /**
     * The path is taken: a stale socket file is removed (the caller then tries again); anything
     * else refuses the start with EADDRINUSE naming the path. Runs under the directory's lock.
     */
    private static void clearStale(Path path, int attempt) throws NativeException, IOException {
        if (attempt > ATTEMPTS) {
            throw busy(path, "Address already in use: the path kept being taken while stale files were cleared");
        }
        Map<String, Object> seen;
        try {
            seen = Files.readAttributes(path, "unix:mode,ino", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return;
        }
        if (((Integer) seen.get("mode") & S_IFMT) != S_IFSOCK) {
            throw busy(path, "Address already in use: the path exists and is not a socket; it is left alone");
        }
        Sockets sockets = Sockets.get();
        try (Fd probe = Fd.own(sockets.unixStream())) {
            sockets.connectUnix(probe.fd(), path.toString());
        } catch (NativeException e) {
            if (e.errno() == Errno.ENOENT) {
                return;
            }
            if (e.errno() == Errno.ECONNREFUSED) {
                removeIfStill(path, seen.get("ino"));
                return;
            }
            if (e.errno() != Errno.EAGAIN) {
                // The probe's own failure (EACCES, say), naming connect: it is what failed.
                throw e;
            }
        }
        // It accepted, or its backlog is full (EAGAIN): a server is listening there.
        throw busy(path, "Address already in use: a server is listening on it");
    }

    /** Unlinks the stale socket, unless the path now holds another file (the next link attempt judges that). */
    private static void removeIfStill(Path path, Object inode) throws IOException {
        try {
            Map<String, Object> now = Files.readAttributes(path, "unix:mode,ino", LinkOption.NOFOLLOW_LINKS);
            if (inode.equals(now.get("ino")) && ((Integer) now.get("mode") & S_IFMT) == S_IFSOCK) {
                Files.delete(path);
                LOG.log(Level.INFO, "replaced the stale unix socket " + path + " (nobody listened on it)");
            }
        } catch (NoSuchFileException gone) {
            // removed meanwhile: the path is free
        }
    }

    private static NativeException busy(Path path, String why) {
        return new NativeException("bind", path.toString(), Errno.EADDRINUSE, why);
    }

    private static Object inode(Path p) throws IOException {
        return Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
    }

    private static void setMode(Path p, int mode) throws IOException {
        if (mode >= 0) {
            Files.setPosixFilePermissions(p, permissions(mode));
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values();   // OWNER_READ ... OTHERS_EXECUTE, 0400 down to 01
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                out.add(bits[i]);
            }
        }
        return out;
    }

    /** Removes the file if it is still the socket this server bound. */
    void remove() {
        try {
            if (inode.equals(inode(path))) {
                Files.delete(path);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "could not remove the unix socket " + path, e);
        }
    }
}
