package dev.returnpath.rewrite;

import dev.returnpath.message.HeaderBlock;

import java.net.InetAddress;
import java.util.List;

/**
 * What the rules look at: the envelope as the client gave it ({@code reversePath} is
 * {@code ""} for the null sender), the client's address, and the header block.
 */
public record RewriteInput(String reversePath, List<String> forwardPaths, InetAddress client, HeaderBlock headers) {
    public RewriteInput {
        forwardPaths = List.copyOf(forwardPaths);
    }
}
