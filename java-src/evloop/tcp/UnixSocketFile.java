package evloop.tcp;

import evloop.net.Fd;
import evloop.net.UnixAddress;
import evloop.sys.Errno;
import evloop.sys.NativeException;
import evloop.sys.Sockets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * A listening Unix socket and the file it lives at. Binding over a path whose socket nobody
 * listens on any more (a server that died) replaces it; over a live one fails with EADDRINUSE
 * naming the path; a path that exists but is not a socket is never touched.
 *
 * <p>The socket is bound under a temporary name beside the path, given its mode, made to
 * listen, and only then renamed onto the path: the path never shows a socket with the wrong
 * mode, nor one that does not listen yet (which another server starting at the same moment
 * would take for stale), and a start that fails leaves no file. On close the file is removed,
 * but only if it is still the one this server created (same inode): a later server may own the
 * path by then. Abstract names ({@code @name}) have no file, so none of this applies to them.
 */
final class UnixSocketFile {
    private static final System.Logger LOG = System.getLogger(UnixSocketFile.class.getName());
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final Path path;
    private final Object inode;

    private UnixSocketFile(Path path, Object inode) {
        this.path = path;
        this.inode = inode;
    }

    /** Opens the listener; returns its fd, and (for a path, not an abstract name) its file in {@code file[0]}. */
    static Fd listen(UnixAddress addr, int backlog, int mode, UnixSocketFile[] file) throws NativeException {
        Sockets sockets = Sockets.get();
        Fd fd = Fd.own(sockets.unixStream());
        if (addr.isAbstract()) {
            try {
                sockets.bindUnix(fd.fd(), addr.path());
                sockets.listen(fd.fd(), backlog);
                return fd;
            } catch (NativeException | RuntimeException e) {
                fd.close();
                throw e;
            }
        }
        Path target = Path.of(addr.path());
        Path tmp = target.resolveSibling(target.getFileName() + "." + Long.toHexString(TMP.incrementAndGet()) + "~");
        // A temporary name too long for sun_path: bind the path itself (the old way, with its gap).
        boolean viaTmp = tmp.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= evloop.sys.SockAddr.MAX_UNIX_PATH;
        Path bound = viaTmp ? tmp : target;
        try {
            clearStale(addr.path());
            sockets.bindUnix(fd.fd(), bound.toString());
            if (mode >= 0) {
                Files.setPosixFilePermissions(bound, permissions(mode));
            }
            sockets.listen(fd.fd(), backlog);
            if (viaTmp) {
                Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            file[0] = new UnixSocketFile(target, Files.getAttribute(target, "unix:ino", LinkOption.NOFOLLOW_LINKS));
            return fd;
        } catch (RuntimeException | IOException e) {
            fd.close();
            if (viaTmp) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            if (e instanceof IOException && !(e instanceof NativeException)) {
                throw new UncheckedIOException("setting up the unix socket " + addr.path() + ": " + e.getMessage(),
                    (IOException) e);
            }
            if (e instanceof NativeException) {
                throw (NativeException) e;
            }
            throw (RuntimeException) e;
        }
    }

    /** Tells temporary names apart within this process. */
    private static final java.util.concurrent.atomic.AtomicLong TMP = new java.util.concurrent.atomic.AtomicLong(
        ProcessHandle.current().pid() << 20);

    /** A socket file nobody listens on is removed; a live one, or anything else, is refused. */
    private static void clearStale(String path) throws NativeException {
        Path p = Path.of(path);
        int mode;
        try {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new UncheckedIOException("inspecting " + path + ": " + e.getMessage(), e);
        }
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new NativeException("bind", path, Errno.EADDRINUSE,
                "Address already in use: the path exists and is not a socket; it is left alone");
        }
        Sockets sockets = Sockets.get();
        try (Fd probe = Fd.own(sockets.unixStream())) {
            sockets.connectUnix(probe.fd(), path);
        } catch (NativeException e) {
            if (e.errno() == Errno.ECONNREFUSED) {
                try {
                    Files.deleteIfExists(p);
                    LOG.log(Level.INFO, "replaced the stale unix socket " + path + " (nobody listened on it)");
                    return;
                } catch (IOException io) {
                    throw new UncheckedIOException("removing the stale unix socket " + path + ": " + io.getMessage(), io);
                }
            }
            if (e.errno() != Errno.EAGAIN) {
                throw new NativeException("bind", path, e.errno(), Errno.name(e.errno())
                    + " while checking whether a server listens on the socket already there");
            }
        }
        // It accepted, or its backlog is full (EAGAIN): a server is listening there.
        throw new NativeException("bind", path, Errno.EADDRINUSE, "Address already in use: a server is listening on it");
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
            if (inode.equals(Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS))) {
                Files.delete(path);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "could not remove the unix socket " + path, e);
        }
    }
}
