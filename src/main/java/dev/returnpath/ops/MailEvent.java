package dev.returnpath.ops;

import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.Reply;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * One line of the mail log, as a value: a record per kind of line. {@link MailLog#log} hands
 * it to the logger; the text writer and the JSON writer each render it from its fields, in
 * order, so nothing ever parses a line back. Every record but {@link Reload} names the queue ID
 * its line starts with.
 */
public sealed interface MailEvent {

    /** The queue ID the line starts with. */
    String id();

    /** Logged at WARN rather than INFO. */
    default boolean warning() {
        return false;
    }

    /** Writes the line's fields, in the order of the text line. */
    void render(Fields out);

    /**
     * What a writer receives from an event. Keys are lower case with dashes and come from the
     * code, never from the wire; values are whatever came from the wire (a client, an upstream,
     * a header), and each writer makes them safe for its format: the text writer
     * ({@link MailLog#text}) quotes or escapes a value that could otherwise end early or start a
     * key of its own, the JSON writer ({@link JsonLogLayout}) writes one JSON string per key.
     * Both first pass values through {@link MailLog#printable}.
     */
    interface Fields {
        /** {@code key=value}; {@code key="va lue"} when the value holds a space, {@code = < > " ( )}. */
        Fields field(String key, String value);

        /** {@code key=<address>}; the null sender is {@code <>}. JSON: the same, brackets included. */
        Fields address(String key, String address);

        /** {@code key="text"}: a value with spaces. */
        Fields quoted(String key, String text);

        /**
         * {@code (text)} after the field before it: the reply or the reason of a
         * {@code status=}. JSON: the key {@code reply}.
         */
        default Fields comment(String text) {
            return comment("reply", text);
        }

        /**
         * {@code (text)}, as {@link #comment(String)}, for a comment that is not the reply of a
         * {@code status=}; JSON: the key {@code key}.
         */
        Fields comment(String key, String text);

        /**
         * Words without a key in the text line ({@code removed}); JSON: {@code key: text}.
         */
        Fields words(String key, String text);

        /** Words followed by a colon in the text line ({@code TEXT:}); JSON: {@code key: text}. */
        Fields label(String key, String text);

        /** Fixed wording of the text line that JSON says through its keys; absent from JSON. */
        Fields phrase(String text);
    }

    /** The rewrite decision's part of an arrival line. */
    record Rewritten(Optional<String> returnPath, String headerFrom, String rule, Optional<String> newHeaderFrom,
                     boolean replyToAdded, Map<String, Long> stripped) {
        public Rewritten {
            stripped = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(stripped)); // in order
        }

        /** A decision that rejected the message: no return path, no edits. */
        public static Rewritten rejectedBy(String headerFrom, String rule) {
            return new Rewritten(Optional.empty(), headerFrom, rule, Optional.empty(), false, Map.of());
        }
    }

    /** The SPF guard's part of an arrival line: {@code spf=off}, or the result and the IP. */
    record Spf(String result, Optional<String> ip) {
        public static final Spf OFF = new Spf("off", Optional.empty());
    }

    /**
     * The arrival line: who sent what, and what cleanup decided. The parts are present as far
     * as the message got: a message refused for its size has no rewrite part.
     */
    record Arrival(String id, String client, String helo, String from, Optional<String> user,
                   Optional<Rewritten> rewrite, Optional<Spf> spf, Optional<String> dkim, OptionalLong size,
                   OptionalInt nrcpt, java.util.List<String> headersAdded, Optional<String> dkimReason) implements MailEvent {

        public Arrival(String id, String client, String helo, String from, Optional<String> user,
                       Optional<Rewritten> rewrite, Optional<Spf> spf, Optional<String> dkim, OptionalLong size,
                       OptionalInt nrcpt) {
            this(id, client, helo, from, user, rewrite, spf, dkim, size, nrcpt, java.util.List.of(), Optional.empty());
        }

        /** Cleanup added these fields ({@code header-added=date,message-id}). */
        public Arrival withHeadersAdded(java.util.List<String> names) {
            return new Arrival(id, client, helo, from, user, rewrite, spf, dkim, size, nrcpt, java.util.List.copyOf(names),
                    dkimReason);
        }

        /** {@code dkim=none (reason)}: the message leaves unsigned, and why. */
        public Arrival withoutDkim(String reason) {
            return new Arrival(id, client, helo, from, user, rewrite, spf, Optional.of("none"), size, nrcpt, headersAdded,
                    Optional.of(reason));
        }

        public static Arrival of(String id, String client, String helo, String from, Optional<String> user) {
            return new Arrival(id, client, helo, from, user, Optional.empty(), Optional.empty(), Optional.empty(),
                    OptionalLong.empty(), OptionalInt.empty());
        }

        public Arrival withRewrite(Rewritten r) {
            return new Arrival(id, client, helo, from, user, Optional.of(r), spf, dkim, size, nrcpt, headersAdded, dkimReason);
        }

        public Arrival withSpf(Spf s) {
            return new Arrival(id, client, helo, from, user, rewrite, Optional.of(s), dkim, size, nrcpt, headersAdded, dkimReason);
        }

        public Arrival withDkim(String d) {
            return new Arrival(id, client, helo, from, user, rewrite, spf, Optional.of(d), size, nrcpt, headersAdded, dkimReason);
        }

        public Arrival withSize(long s) {
            return new Arrival(id, client, helo, from, user, rewrite, spf, dkim, OptionalLong.of(s), nrcpt, headersAdded, dkimReason);
        }

        public Arrival withNrcpt(int n) {
            return new Arrival(id, client, helo, from, user, rewrite, spf, dkim, size, OptionalInt.of(n), headersAdded, dkimReason);
        }

        @Override
        public void render(Fields out) {
            out.field("client", client).field("helo", helo);
            user.ifPresent(u -> out.field("user", u));
            out.address("from", from);
            rewrite.ifPresent(r -> {
                r.returnPath().ifPresent(rp -> out.address("return-path", rp));
                out.address("header-from", r.headerFrom()).field("rule", r.rule());
                r.newHeaderFrom().ifPresent(f -> out.address("new-header-from", f));
                if (r.replyToAdded()) {
                    out.field("reply-to", "added");
                }
                if (!r.stripped().isEmpty()) {
                    StringBuilder b = new StringBuilder();
                    r.stripped().forEach((k, v) -> b.append(b.isEmpty() ? "" : ",").append(k).append(':').append(v));
                    out.field("stripped", b.toString());
                }
            });
            spf.ifPresent(s -> {
                out.field("spf", s.result());
                s.ip().ifPresent(ip -> out.field("ip", ip));
            });
            if (!headersAdded.isEmpty()) {
                out.field("header-added", String.join(",", headersAdded));
            }
            dkim.ifPresent(d -> out.field("dkim", d));
            dkimReason.ifPresent(r -> out.field("dkim-reason", r));
            size.ifPresent(s -> out.field("size", Long.toString(s)));
            nrcpt.ifPresent(n -> out.field("nrcpt", Integer.toString(n)));
        }
    }

    /** The arrival line of a message refused at intake: its fields so far, and the reply. */
    record Rejected(Arrival arrival, int code, String enhanced, String text) implements MailEvent {
        @Override
        public String id() {
            return arrival.id();
        }

        @Override
        public boolean warning() {
            return true;
        }

        @Override
        public void render(Fields out) {
            arrival.render(out);
            out.field("status", "rejected").comment(code + " " + enhanced + " " + text);
        }
    }

    /** A message that could not be stored: {@code 452 4.3.1} to the client. */
    record StorageError(String id, Optional<String> client, String problem) implements MailEvent {
        @Override
        public boolean warning() {
            return true;
        }

        @Override
        public void render(Fields out) {
            client.ifPresent(c -> out.field("client", c));
            out.field("status", "deferred").comment(problem);
        }
    }

    /** What happened to one recipient in one attempt. */
    enum Status { SENT, DEFERRED, BOUNCED }

    /**
     * A recipient line. {@code relay} names the server ({@code host[ip]:port}, or {@code none});
     * {@code cause} and {@code fix} come from {@link RejectionHints}.
     */
    record Recipient(String id, String to, Optional<String> route, String relay, double delay, String dsn,
                     Status status, String reply, Optional<RejectionHints.Hint> hint) implements MailEvent {
        @Override
        public boolean warning() {
            return status != Status.SENT;
        }

        @Override
        public void render(Fields out) {
            out.address("to", to);
            route.ifPresent(r -> out.field("route", r));
            out.field("relay", relay).field("delay", seconds(delay)).field("dsn", dsn)
                    .field("status", status.name().toLowerCase(java.util.Locale.ROOT)).comment(reply);
            hint.ifPresent(h -> out.field("cause", h.cause()).quoted("fix", h.fix()));
        }

        /**
         * The line for one recipient's outcome, the same in passthrough and spool mode.
         * {@code relay} is the server the outcome came from ({@link DeliveryOutcome#relayOf});
         * empty becomes {@code none}. {@code delay} is the seconds since the message arrived. The
         * hint is read only from a reply a server said: a reply the relay wrote itself (a refused
         * connection, a timeout) has no cause to guess.
         */
        public static Recipient of(String id, DeliveryOutcome.RecipientOutcome outcome, String relay, double delay) {
            Reply reply = outcome.reply();
            Optional<RejectionHints.Hint> hint = outcome.upstreamSaid()
                    ? RejectionHints.classify(reply.code(), reply.enhanced(), reply.text()) : Optional.empty();
            Status status = switch (outcome.status()) {
                case SENT -> Status.SENT;
                case DEFERRED -> Status.DEFERRED;
                case BOUNCED -> Status.BOUNCED;
            };
            return new Recipient(id, outcome.recipient(), Optional.empty(), relay.isEmpty() ? "none" : relay, delay,
                    reply.enhancedOrDefault(), status, reply.toString(), hint);
        }

        /**
         * As {@link #of(String, DeliveryOutcome.RecipientOutcome, String, double)}, naming the
         * route ({@code route=NAME} before {@code relay=}) when {@code route} is present: when
         * {@code delivery.routes} is configured ({@code Router.logName}); without routes the lines
         * stay as they always were.
         */
        public static Recipient of(String id, Optional<String> route, DeliveryOutcome.RecipientOutcome outcome,
                                   String relay, double delay) {
            Recipient r = of(id, outcome, relay, delay);
            return route.isEmpty() ? r
                    : new Recipient(id, r.to, route, r.relay, delay, r.dsn, r.status, r.reply, r.hint);
        }

        /**
         * The {@code cause} label of {@code returnpath_upstream_replies_total} for this line: the
         * hint's cause, {@code connection} when the relay wrote the reply itself, else empty.
         */
        public static String metricCause(DeliveryOutcome.RecipientOutcome outcome, Recipient line) {
            return line.hint.map(RejectionHints.Hint::cause).orElse(outcome.upstreamSaid() ? "" : "connection");
        }
    }

    /** A recipient still deferred when its message reached {@code queue.max-age}. */
    record Expired(String id, String to, double delay, String dsn, String note) implements MailEvent {
        @Override
        public boolean warning() {
            return true;
        }

        @Override
        public void render(Fields out) {
            out.address("to", to).field("delay", seconds(delay)).field("dsn", dsn).field("status", "expired")
                    .comment(note);
        }
    }

    /** A recipient given up without a DSN (the message came from the null sender). */
    record Dropped(String id, String to, String reason) implements MailEvent {
        @Override
        public boolean warning() {
            return true;
        }

        @Override
        public void render(Fields out) {
            out.address("to", to).field("status", "dropped").comment(reason);
        }
    }

    /** Spool mode: the message is on disk, the client got 250. */
    record Queued(String id, int nrcpt) implements MailEvent {
        @Override
        public void render(Fields out) {
            out.field("status", "queued").field("nrcpt", Integer.toString(nrcpt));
        }
    }

    /** Spool mode: every recipient is done, the message left the spool. */
    record Removed(String id) implements MailEvent {
        @Override
        public void render(Fields out) {
            out.words("event", "removed");
        }
    }

    /** The kinds of report the relay writes itself (RFC 3464). */
    enum Notification {
        NON_DELIVERY("sender non-delivery notification"), DELAY("sender delay notification");

        public final String text;

        Notification(String text) {
            this.text = text;
        }
    }

    /** On the original message: a DSN was written for it, with its own queue ID. */
    record DsnSent(String id, Notification kind, String dsnId) implements MailEvent {
        @Override
        public void render(Fields out) {
            out.label("notification", kind.text).words("dsn-id", dsnId);
        }
    }

    /** The arrival line of a DSN the relay wrote. */
    record DsnArrival(String id, Notification kind, String forId, long size) implements MailEvent {
        @Override
        public void render(Fields out) {
            out.field("client", "local").address("from", "").address("return-path", "")
                    .field("size", Long.toString(size)).field("nrcpt", "1").comment("note", kind.text + " for " + forId);
        }
    }

    /** Failed recipients of a null-sender message in passthrough: no DSN is possible. */
    record NoDsn(String id, int failed) implements MailEvent {
        @Override
        public boolean warning() {
            return true;
        }

        @Override
        public void render(Fields out) {
            out.field("dsn", "none").field("failed", Integer.toString(failed)).comment("note", "no DSN for the null sender");
        }
    }

    /** A return-path template could not be used for this message; the fallback was. */
    record TemplateFallback(String id, String fallback, String attempted, String problem) implements MailEvent {
        @Override
        public boolean warning() {
            return true;
        }

        @Override
        public void render(Fields out) {
            out.address("template-fallback", fallback).address("template-result", attempted).comment("problem", problem);
        }
    }

    /** {@code spf.on-fail = warn}: the guard did not pass, the message is relayed anyway. */
    record SpfWarned(String id, String advice) implements MailEvent {
        @Override
        public boolean warning() {
            return true;
        }

        @Override
        public void render(Fields out) {
            out.field("spf-guard", "warn").comment("advice", advice);
        }
    }

    /**
     * {@code serve} took a new configuration file: {@code config reloaded from FILE: SUMMARY}
     * on the {@code returnpath.config} logger, at WARN when part of it needs a restart. A
     * relay-wide event: its {@link #id()} is empty and its line has no queue ID.
     */
    record Reload(String file, String summary, boolean restartNeeded) implements MailEvent {
        @Override
        public String id() {
            return "";
        }

        @Override
        public boolean warning() {
            return restartNeeded;
        }

        @Override
        public void render(Fields out) {
            out.words("event", "config reloaded").phrase("from").label("file", file).words("changes", summary);
        }
    }

    /**
     * A report read from the Return-Path mailbox ({@code dev.returnpath.bounce}):
     * {@code bounce: id=ID original-from=<app> to=<rcpt> action=failed status=5.7.26
     * reporting-mta=MX class=auth cause=… fix="…" attributed-by=received}. {@code id} is the queue
     * ID when the report could be attributed to one, else {@code -}; the line has no ID prefix.
     * An authentication bounce is a warning.
     */
    record Bounce(String queueId, String originalFrom, String to, String action, String status, String reportingMta,
                  String bounceClass, String cause, String fix, String attributedBy) implements MailEvent {
        @Override
        public String id() {
            return "";
        }

        @Override
        public boolean warning() {
            return bounceClass.equals("auth");
        }

        @Override
        public void render(Fields out) {
            out.label("event", "bounce").field("id", queueId).address("original-from", originalFrom).address("to", to)
                    .field("action", action).field("status", status).field("reporting-mta", reportingMta)
                    .field("class", bounceClass).field("cause", cause).quoted("fix", fix)
                    .field("attributed-by", attributedBy);
        }
    }

    static String seconds(double s) {
        // what String.format("%.2f", s) writes (HALF_UP on the shortest decimal form of s),
        // without a Formatter per log line
        if (!Double.isFinite(s)) {
            return String.format(java.util.Locale.ROOT, "%.2f", s);
        }
        return new java.math.BigDecimal(Double.toString(s)).setScale(2, java.math.RoundingMode.HALF_UP).toPlainString();
    }
}
