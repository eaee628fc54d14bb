package evloop.tcp;

/**
 * Counters of one server, read from any thread.
 *
 * @param accepted            connections accepted since start
 * @param active              connections open now
 * @param rejected            connections closed at once because max clients was reached
 * @param bytesIn             bytes read from clients
 * @param bytesOut            bytes written to clients
 * @param framesIn            frames delivered to the handler
 * @param backpressurePauses  times a connection stopped being read because its output backed up
 * @param acceptPauses        times accepting paused because the process ran out of fds
 */
public record ServerStats(long accepted, long active, long rejected, long bytesIn, long bytesOut,
                          long framesIn, long backpressurePauses, long acceptPauses) {}
