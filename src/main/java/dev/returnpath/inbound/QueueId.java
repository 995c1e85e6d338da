package dev.returnpath.inbound;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Queue IDs: 13 upper-case hex digits, increasing, from the clock in milliseconds times 256
 * plus a counter. Unique within a process, and across restarts unless more than 256 messages
 * a millisecond were accepted just before one. One ID ties together every log line of a
 * message and names its spool files.
 */
public final class QueueId {
    private final AtomicLong last = new AtomicLong();

    public String next() {
        long now = System.currentTimeMillis() << 8;
        long id = last.updateAndGet(prev -> Math.max(prev + 1, now));
        // what String.format("%013X", id) wrote, without parsing a format string per message
        String hex = Long.toHexString(id).toUpperCase(java.util.Locale.ROOT);
        return hex.length() >= 13 ? hex : "0".repeat(13 - hex.length()) + hex;
    }
}
