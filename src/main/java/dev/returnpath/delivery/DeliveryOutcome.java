package dev.returnpath.delivery;

import java.util.List;

/**
 * What the upstream said about each recipient of one message. {@code relay} names the upstream
 * as in the log line ({@code smtp.example.net[198.51.100.7]:587}).
 */
public record DeliveryOutcome(String relay, List<RecipientOutcome> recipients, double seconds) {

    public enum Status { SENT, DEFERRED, BOUNCED }

    /**
     * {@code upstreamSaid} is false when the relay wrote the reply itself (refused, timeout, TLS).
     * {@code relay} names the server that took or refused this recipient when it is not the
     * outcome's {@link DeliveryOutcome#relay} (direct delivery: one per domain and MX host);
     * empty otherwise.
     */
    public record RecipientOutcome(String recipient, Status status, Reply reply, boolean upstreamSaid, String relay) {
        public RecipientOutcome(String recipient, Status status, Reply reply, boolean upstreamSaid) {
            this(recipient, status, reply, upstreamSaid, "");
        }

        public RecipientOutcome withRelay(String relay) {
            return new RecipientOutcome(recipient, status, reply, upstreamSaid, relay);
        }
    }

    /** The server this recipient's outcome came from. */
    public String relayOf(RecipientOutcome r) {
        return r.relay().isEmpty() ? relay : r.relay();
    }

    public DeliveryOutcome {
        recipients = List.copyOf(recipients);
    }

    public List<RecipientOutcome> with(Status status) {
        return recipients.stream().filter(r -> r.status() == status).toList();
    }

    public boolean allSent() {
        return recipients.stream().allMatch(r -> r.status() == Status.SENT);
    }

    public boolean noneSent() {
        return recipients.stream().noneMatch(r -> r.status() == Status.SENT);
    }
}
