package dev.returnpath.ops;

import java.util.Locale;
import java.util.Optional;

/**
 * Reads the upstream's rejections that mean an authentication problem (Gmail's and Outlook's
 * sender requirements) and says what to fix. The cause goes into
 * the log line ({@code cause=spf}) and the metrics; the fix is one line for the operator.
 */
public final class RejectionHints {
    private RejectionHints() {}

    public record Hint(String cause, String fix) {}

    public static Optional<Hint> classify(int code, String enhanced, String text) {
        String t = text == null ? "" : text.toLowerCase(Locale.ROOT);
        String e = enhanced == null ? "" : enhanced;
        return switch (e) {
            case "5.7.26" -> Optional.of(new Hint("unauthenticated",
                    "the message passed neither SPF nor DKIM: publish the outbound IP in the SPF record of the "
                            + "Return-Path domain (returnpath doctor shows the mechanism), and sign with DKIM"));
            case "4.7.27", "5.7.27" -> Optional.of(new Hint("spf",
                    "SPF did not pass for the Return-Path domain: add the outbound IP to its SPF record "
                            + "(returnpath doctor shows the mechanism)"));
            case "4.7.30", "5.7.30" -> Optional.of(new Hint("dkim",
                    "DKIM did not pass: sign the From domain with a key of at least 1024 bits and publish it"));
            case "4.7.32" -> Optional.of(new Hint("alignment",
                    "the From domain is aligned with neither the SPF nor the DKIM domain: set the domain's "
                            + "return-path under the From domain"));
            case "4.7.40" -> Optional.of(new Hint("dmarc",
                    "the From domain has no DMARC record: publish _dmarc.<domain> TXT \"v=DMARC1; p=none\" at least"));
            case "4.7.23", "5.7.25" -> Optional.of(new Hint("ptr",
                    "the sending IP has no PTR record whose name resolves back to it: ask the IP's owner for "
                            + "forward-confirmed reverse DNS, and set hostname to that name"));
            case "5.7.515" -> Optional.of(new Hint("outlook-auth",
                    "Outlook requires SPF, DKIM and DMARC to pass for high-volume senders: check all three "
                            + "with returnpath doctor"));
            default -> t.contains("5.7.515") || t.contains("access denied, sending domain")
                    ? Optional.of(new Hint("outlook-auth", "Outlook requires SPF, DKIM and DMARC to pass"))
                    : Optional.empty();
        };
    }
}
