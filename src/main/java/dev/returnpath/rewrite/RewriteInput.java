package dev.returnpath.rewrite;

import dev.returnpath.message.HeaderBlock;

import java.net.InetAddress;
import java.util.List;

/**
 * What the rules look at: the envelope as the client gave it ({@code reversePath} is
 * {@code ""} for the null sender), the client's address, and the header block.
 */
public record RewriteInput(String reversePath, List<String> forwardPaths, InetAddress client, HeaderBlock headers,
                           java.util.Optional<String> authUser) {
    public RewriteInput {
        forwardPaths = List.copyOf(forwardPaths);
    }

    /** A client that did not authenticate. */
    public RewriteInput(String reversePath, List<String> forwardPaths, InetAddress client, HeaderBlock headers) {
        this(reversePath, forwardPaths, client, headers, java.util.Optional.empty());
    }
}
