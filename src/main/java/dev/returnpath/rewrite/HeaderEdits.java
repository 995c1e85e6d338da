package dev.returnpath.rewrite;

import dev.returnpath.message.HeaderBlock;

import java.util.List;
import java.util.Optional;

/**
 * The header block a decision sends, and what was changed in it, in words.
 *
 * @param headers  the header block after the edits (the original one when there are none)
 * @param from     the new From value, when {@code from-header = align} changed it
 * @param replyTo  the Reply-To value added, when one was
 * @param stripped the names of the fields removed by {@code strip-headers}, once per field
 * @param changes  every change in words, in order, for {@code rewrite-test}
 */
public record HeaderEdits(HeaderBlock headers, Optional<String> from, Optional<String> replyTo, List<String> stripped,
                          List<String> changes) {

    public static HeaderEdits none(HeaderBlock headers) {
        return new HeaderEdits(headers, Optional.empty(), Optional.empty(), List.of(), List.of());
    }

    public boolean changed() {
        return !changes.isEmpty();
    }
}
