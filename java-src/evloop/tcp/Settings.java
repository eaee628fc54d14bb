package evloop.tcp;

/**
 * What one server's or client's connections share, copied from its config when it starts, so
 * that changing the config afterwards changes nothing running. Read on every frame and write,
 * hence plain final fields.
 */
final class Settings {
    final Framing framing;
    final long highWatermark;
    final long lowWatermark;
    final boolean noDelay;
    final long idleNanos;
    final long readNanos;
    final long writeNanos;

    Settings(ConnectionConfig<?> cfg) {
        this.framing = cfg.framing;
        this.highWatermark = cfg.highWatermark;
        this.lowWatermark = cfg.lowWatermark;
        this.noDelay = cfg.noDelay;
        this.idleNanos = cfg.idleTimeout.toNanos();
        this.readNanos = cfg.readTimeout.toNanos();
        this.writeNanos = cfg.writeTimeout.toNanos();
    }
}
