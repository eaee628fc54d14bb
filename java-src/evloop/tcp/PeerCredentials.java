package evloop.tcp;

/**
 * Who is on the other end of a Unix socket, as the kernel recorded it when the peer connected
 * (or listened): SO_PEERCRED.
 *
 * @param pid the peer's process id
 * @param uid its user id
 * @param gid its group id
 */
public record PeerCredentials(int pid, int uid, int gid) {}
