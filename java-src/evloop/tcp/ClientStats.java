package evloop.tcp;

/**
 * Counters of one client, read from any thread.
 *
 * @param connected           connections opened
 * @param failed              connects that failed (refused, timed out, unresolvable)
 * @param active              connections open now
 * @param bytesIn             bytes read
 * @param bytesOut            bytes written
 * @param framesIn            frames delivered to the handler
 * @param backpressurePauses  times a connection stopped being read because its output backed up
 */
public record ClientStats(long connected, long failed, long active, long bytesIn, long bytesOut,
                          long framesIn, long backpressurePauses) {}
