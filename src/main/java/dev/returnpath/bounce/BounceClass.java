package dev.returnpath.bounce;

import dev.returnpath.ops.RejectionHints;

import java.util.Locale;
import java.util.Set;

/**
 * The {@code class} label of {@code returnpath_bounces_total} and the {@code cause}/{@code fix}
 * of the log line. {@code auth}: the receiver refused for SPF, DKIM, DMARC, alignment or
 * reverse DNS (what {@link RejectionHints} knows); {@code mailbox}: the recipient does not exist,
 * is disabled or full (x.1.x, x.2.x); {@code spam}: a complaint (ARF) or a refusal that says
 * spam; {@code policy}: another x.7.x refusal; {@code other}: everything else.
 */
public enum BounceClass {
    AUTH, POLICY, MAILBOX, SPAM, OTHER;

    private static final Set<String> AUTH_STATUS = Set.of("5.7.26", "4.7.26", "5.7.27", "4.7.27", "5.7.30", "4.7.30",
            "4.7.32", "5.7.32", "4.7.40", "5.7.40", "4.7.23", "5.7.23", "4.7.25", "5.7.25", "5.7.515");

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public record Verdict(BounceClass bounceClass, String cause, String fix) {}

    public static Verdict of(Report r) {
        String status = r.status();
        String text = r.diagnostic() == null ? "" : r.diagnostic().toLowerCase(Locale.ROOT);
        if (r.kind().equals("arf")) {
            String type = r.feedbackType().orElse("abuse");
            return new Verdict(SPAM, "complaint-" + type,
                    "a recipient marked the message as spam: check that the app sends only mail its recipients asked for, "
                            + "and add a List-Unsubscribe header to bulk mail");
        }
        var hint = RejectionHints.classify(0, status, r.diagnostic());
        if (hint.isPresent() || AUTH_STATUS.contains(status)) {
            return hint.map(h -> new Verdict(AUTH, h.cause(), h.fix()))
                    .orElse(new Verdict(AUTH, "auth", "the receiver refused the message's authentication: run returnpath doctor"));
        }
        if (text.contains("spam") || text.contains("junk") || text.contains("blocked using") || text.contains("blacklist")
                || text.contains("blocklist")) {
            return new Verdict(SPAM, "spam", "the receiver judged the message or the sending IP as spam: check the IP on "
                    + "blocklists and the content the app sends");
        }
        String[] p = status.split("\\.");
        String subject = p.length == 3 ? p[1] : "";
        return switch (subject) {
            case "1" -> new Verdict(MAILBOX, "no-such-user",
                    "the recipient address does not exist: remove it from the app's list or fix the form input");
            case "2" -> new Verdict(MAILBOX, status.endsWith(".2") ? "mailbox-full" : "mailbox-unavailable",
                    "the recipient's mailbox is full or disabled: retry later or remove the address");
            case "7" -> new Verdict(POLICY, "policy",
                    "the receiver refused by policy: read the diagnostic and the receiver's postmaster pages");
            default -> new Verdict(OTHER, status.isEmpty() ? "unknown" : "status-" + status,
                    "read the diagnostic; nothing known to fix on the relay");
        };
    }
}
