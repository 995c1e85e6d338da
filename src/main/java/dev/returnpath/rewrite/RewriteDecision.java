package dev.returnpath.rewrite;

import java.util.List;

/**
 * What the rules decided for one message. {@code rule} names what decided, as it appears in the
 * log line: {@code rule:NAME} for a rule, {@code domain:D} for the domain map,
 * {@code unknown-domain:reject|default|keep}, and {@code rule:NAME+domain:D} when a rule edited
 * the headers and left the envelope to the domain map. {@code reason} says why, for people;
 * {@code trace} says why the rules before it did not match, and what to look out for.
 */
public sealed interface RewriteDecision {
    String rule();

    String reason();

    Trace trace();

    /** The envelope sender becomes {@code reversePath}; {@code headers} are what goes upstream. */
    record Rewrite(String reversePath, HeaderEdits headers, String rule, String reason, Trace trace)
            implements RewriteDecision {}

    /** The envelope sender stays as it is; {@code headers} may still have been edited. */
    record Keep(HeaderEdits headers, String rule, String reason, Trace trace) implements RewriteDecision {}

    /** The message is refused with {@code code enhanced text}, e.g. 550 5.7.1. */
    record Reject(int code, String enhanced, String text, String rule, String reason, Trace trace)
            implements RewriteDecision {}

    /**
     * @param notMatched the rules (and the domain map) that were tried and did not decide, in order
     * @param fallbacks  templates that could not serve this message (the mail log says so)
     * @param notes      what {@code rewrite-test} points out, e.g. a result that DMARC cannot align
     *                   through SPF (not logged per message: it is the configuration's choice)
     */
    record Trace(List<Miss> notMatched, List<Fallback> fallbacks, List<String> notes) {
        public Trace {
            notMatched = List.copyOf(notMatched);
            fallbacks = List.copyOf(fallbacks);
            notes = List.copyOf(notes);
        }

        Trace(List<Miss> notMatched, List<Fallback> fallbacks) {
            this(notMatched, fallbacks, List.of());
        }
    }

    /**
     * A return-path template gave {@code attempted}, which cannot be used because of
     * {@code problem}; {@code fallback} was used instead.
     */
    record Fallback(String attempted, String problem, String fallback) {
        @Override
        public String toString() {
            return "\"" + attempted + "\" " + problem + ": using the fallback " + fallback;
        }
    }

    /** {@code what} (e.g. {@code rule:cron}) did not match, because {@code why}. */
    record Miss(String what, String why) {}
}
