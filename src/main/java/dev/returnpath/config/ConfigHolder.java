package dev.returnpath.config;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The configuration in force. A transaction reads it once, at MAIL, and keeps that tree to
 * its end; a reload swaps the reference for the transactions that start after it.
 */
public final class ConfigHolder {
    private final AtomicReference<RelayConfig> current;

    public ConfigHolder(RelayConfig initial) {
        this.current = new AtomicReference<>(initial);
    }

    public RelayConfig get() {
        return current.get();
    }

    /** Installs {@code next} and returns the one it replaced. */
    public RelayConfig swap(RelayConfig next) {
        return current.getAndSet(next);
    }
}
