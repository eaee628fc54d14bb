package evloop.tcp;

import evloop.ScheduledTask;
import evloop.sys.NativeException;
import evloop.sys.Sockets;
import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;

/**
 * How a connection ends, on its loop thread: {@link #gracefully} (stop reading, flush what is
 * queued within the close timeout, then close), {@link #onTimeout} (write what the socket
 * takes, reset the rest), {@link #abort} (a reset) or {@link #finish} at once. Every way ends in
 * {@link #finish}, which does it exactly once. An instance is what a connection closing with
 * output still queued keeps meanwhile: why, and the timer that resets it if the flush takes too
 * long; connections that close with nothing queued never make one.
 */
final class Closing {
    /** Connection's own: a connection's end is logged where the rest of its life is. */
    private static final System.Logger LOG = System.getLogger(Connection.class.getName());

    final DisconnectCause cause;
    final ScheduledTask timer;

    private Closing(DisconnectCause cause, ScheduledTask timer) {
        this.cause = cause;
        this.timer = timer;
    }

    /** Stops reading; closes now if nothing is queued, else once the queue drains or the timeout passes. */
    static void gracefully(Connection c, DisconnectCause cause) {
        if (c.state != Connection.OPEN) {
            return;
        }
        c.state = Connection.CLOSING;
        if (c.timeouts != null) {
            c.timeouts.cancel();   // the close timeout is in charge now
        }
        // Out of the read table also after EOF: a level-triggered fd at end of stream stays
        // readable, and left in the table it would wake every turn until the output drained.
        c.updateReading();
        Writer w = c.shard.resources.writer;
        if (!w.hasOutput(c)) {
            finish(c, cause);
            return;
        }
        c.closing = new Closing(cause, c.shard.loop.schedule(c.shard.endpoint.closeTimeoutNanos, TimeUnit.NANOSECONDS,
            () -> abort(c, DisconnectCause.CLOSE_TIMEOUT)));
        w.flushUnlessCorked(c);
    }

    /**
     * An idle or read timeout expired: what the socket takes now is written, and the connection
     * closes without waiting. Output it does not take is dropped with a reset: a peer that let
     * the timeout pass gets no grace period, and the close timeout would otherwise hold the
     * connection and then report CLOSE_TIMEOUT instead of why it ended. A handler that wants
     * the flush keeps the connection in onTimeout and calls {@link Connection#close()} itself.
     */
    static void onTimeout(Connection c, DisconnectCause cause) {
        gracefully(c, cause);
        if (c.state == Connection.CLOSING) {
            abort(c, cause);
        }
    }

    /** The Writer drained the output of a closing connection. */
    static void flushed(Connection c) {
        finish(c, c.closing != null ? c.closing.cause : DisconnectCause.LOCAL_CLOSE);
    }

    /** Closes at once with a reset (RST), dropping queued output. */
    static void abort(Connection c, DisconnectCause cause) {
        if (c.state == Connection.CLOSED) {
            return;
        }
        try {
            Sockets.get().setLingerAbort(c.fd.fd());
        } catch (NativeException e) {
            LOG.log(Level.DEBUG, "SO_LINGER before abort failed on fd " + c.fd(), e);
        }
        finish(c, cause);
    }

    /**
     * The one way out: leaves the tables, closes the fd (once), and tells the handler why.
     * Called directly it closes at once without a reset (FIN), dropping queued output: for a
     * socket that failed, or a loop that can no longer flush.
     */
    static void finish(Connection c, DisconnectCause cause) {
        if (c.state == Connection.CLOSED) {
            return;
        }
        c.state = Connection.CLOSED;
        c.readerArmed = false;
        c.writerArmed = false;
        if (c.closing != null) {
            c.closing.timer.cancel();
        }
        if (c.timeouts != null) {
            c.timeouts.cancel();
        }
        try {
            c.shard.resources.detach(c);
            c.fd.closeOn(c.shard.loop);
        } finally {
            c.shard.resources.writer.forget(c);
            if (c.out != null) {
                c.out.release();
            }
            c.partial = null;
            c.partialLength = 0;
            c.shard.connectionClosed(c, cause);
        }
    }
}
