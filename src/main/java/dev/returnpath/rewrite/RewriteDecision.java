package dev.returnpath.rewrite;

/**
 * What the rules decided for one message. {@code rule} names what matched, as it appears in
 * the log line ({@code rule=domain:example.com}); {@code reason} says why, for people.
 */
public sealed interface RewriteDecision {
    String rule();

    String reason();

    /** The envelope sender becomes {@code reversePath}. */
    record Rewrite(String reversePath, String rule, String reason) implements RewriteDecision {}

    /** The envelope sender stays as it is. */
    record Keep(String rule, String reason) implements RewriteDecision {}

    /** The message is refused with {@code code enhanced text}, e.g. 550 5.7.1. */
    record Reject(int code, String enhanced, String text, String rule, String reason) implements RewriteDecision {}
}
