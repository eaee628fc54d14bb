package evloop.tcp;

/**
 * Who is on the other end of a Unix socket, as the kernel recorded it when the peer connected
 * (or listened): SO_PEERCRED.
 *
 * @param pid the peer's process id
 * @param uid its user id
 * @param gid its group id
 */
public record PeerCredentials(int pid, int uid, int gid) {
    /** The credentials of the peer of a Unix socket; null once it is closed. */
    static PeerCredentials of(evloop.net.Fd fd) {
        if (!fd.isOpen()) {
            return null;
        }
        try {
            int[] p = evloop.sys.Sockets.get().peerCredentials(fd.fd());
            return new PeerCredentials(p[0], p[1], p[2]);
        } catch (evloop.sys.NativeException e) {
            return null;   // closed meanwhile (EBADF): as closed
        }
    }
}
