package dev.returnpath.delivery;

import java.util.List;

/**
 * The envelope that goes upstream: the queue ID that ties the log lines together, the reverse
 * path (the rewritten envelope sender, {@code ""} for the null sender) and the forward paths.
 */
public record Envelope(String id, String reversePath, List<String> forwardPaths) {
    public Envelope {
        forwardPaths = List.copyOf(forwardPaths);
    }
}
