package dev.returnpath.queue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The envelope of one spooled message, as kept in {@code queue/ID.env} next to the message
 * ({@code queue/ID.eml}, the exact bytes that go upstream).
 *
 * <p>The file is UTF-8 text, one {@code key: value} per line, after a first line naming the
 * format; recipients are one {@code rcpt:} line each, with tab-separated fields
 * {@code state address relay reply}. In values, {@code %}, tab, CR, LF and other control
 * characters are written as {@code %XX}. Example:
 *
 * <pre>
 * returnpath-envelope 1
 * id: 3F2A9C1B00001
 * arrival: 2025-03-01T10:00:00.123Z
 * client: 127.0.0.1
 * helo: web01.internal
 * sender: apache@web01.internal
 * return-path: bounce@example.com
 * size: 1834
 * attempts: 1
 * next-attempt: 2025-03-01T10:05:00.123Z
 * warned: no
 * rcpt: sent	a@example.org	mx.example.org[192.0.2.1]:25	250 2.0.0 Ok
 * rcpt: deferred	b@example.net	mx.example.net[192.0.2.2]:25	451 4.7.1 greylisted
 * </pre>
 *
 * <p>{@code sender} is the envelope sender the app gave, {@code return-path} the one sent
 * upstream (empty for the null sender). {@code relay} is empty when the reply was written by
 * the relay itself (a refused connection, a timeout), not said by an upstream server.
 */
public record QueueEntry(
        String id,
        Instant arrival,
        String client,
        String helo,
        String sender,
        String returnPath,
        long size,
        int attempts,
        Instant nextAttempt,
        boolean warned,
        List<Recipient> recipients) {

    static final String MAGIC = "returnpath-envelope 1";

    public QueueEntry {
        recipients = List.copyOf(recipients);
    }

    /** One forward path and what became of it. {@code reply} is empty until an attempt was made. */
    public record Recipient(String address, State state, String relay, String reply) {
        public boolean isFinal() {
            return state == State.SENT || state == State.BOUNCED;
        }
    }

    /**
     * {@code PENDING} never tried; {@code DEFERRED} failed temporarily, tried again later;
     * {@code SENT} accepted upstream; {@code BOUNCED} failed for good, its DSN already queued
     * (or, for the null sender, dropped).
     */
    public enum State { PENDING, DEFERRED, SENT, BOUNCED }

    /** The recipients still to deliver. */
    public List<Recipient> unfinished() {
        return recipients.stream().filter(r -> !r.isFinal()).toList();
    }

    public boolean isDone() {
        return recipients.stream().allMatch(Recipient::isFinal);
    }

    /** The last reply of a recipient still waiting, for {@code queue list}; empty if none. */
    public String lastReply() {
        return recipients.stream().filter(r -> r.state() == State.DEFERRED).map(Recipient::reply)
                .filter(s -> !s.isEmpty()).findFirst().orElse("");
    }

    public QueueEntry withRecipients(List<Recipient> next) {
        return new QueueEntry(id, arrival, client, helo, sender, returnPath, size, attempts, nextAttempt, warned, next);
    }

    public QueueEntry withAttempt(int attemptsDone, Instant next, boolean warnedNow) {
        return new QueueEntry(id, arrival, client, helo, sender, returnPath, size, attemptsDone, next, warnedNow, recipients);
    }

    public QueueEntry withNextAttempt(Instant next) {
        return new QueueEntry(id, arrival, client, helo, sender, returnPath, size, attempts, next, warned, recipients);
    }

    // ---------------------------------------------------------------- the file format

    public byte[] toBytes() {
        StringBuilder b = new StringBuilder(512);
        b.append(MAGIC).append('\n');
        line(b, "id", id);
        line(b, "arrival", arrival.toString());
        line(b, "client", client);
        line(b, "helo", helo);
        line(b, "sender", sender);
        line(b, "return-path", returnPath);
        line(b, "size", Long.toString(size));
        line(b, "attempts", Integer.toString(attempts));
        line(b, "next-attempt", nextAttempt.toString());
        line(b, "warned", warned ? "yes" : "no");
        for (Recipient r : recipients) {
            b.append("rcpt: ").append(r.state().name().toLowerCase(Locale.ROOT)).append('\t')
                    .append(escape(r.address())).append('\t')
                    .append(escape(r.relay())).append('\t')
                    .append(escape(r.reply())).append('\n');
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Parses an envelope file; throws {@link IllegalArgumentException} naming what is wrong. */
    public static QueueEntry parse(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        String[] lines = text.split("\n", -1);
        if (lines.length == 0 || !lines[0].equals(MAGIC)) {
            throw new IllegalArgumentException("not a returnpath envelope (first line is not \"" + MAGIC + "\")");
        }
        if (!text.endsWith("\n")) {
            throw new IllegalArgumentException("truncated (no final newline)");
        }
        Map<String, String> fields = new LinkedHashMap<>();
        List<Recipient> rcpts = new ArrayList<>();
        for (int i = 1; i < lines.length - 1; i++) {
            String l = lines[i];
            int colon = l.indexOf(": ");
            if (colon < 0) {
                throw new IllegalArgumentException("line " + (i + 1) + ": no \"key: value\"");
            }
            String key = l.substring(0, colon);
            String value = l.substring(colon + 2);
            if (key.equals("rcpt")) {
                String[] f = value.split("\t", -1);
                if (f.length != 4) {
                    throw new IllegalArgumentException("line " + (i + 1) + ": rcpt needs 4 tab-separated fields");
                }
                State state;
                try {
                    state = State.valueOf(f[0].toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("line " + (i + 1) + ": unknown recipient state \"" + f[0] + "\"");
                }
                rcpts.add(new Recipient(unescape(f[1]), state, unescape(f[2]), unescape(f[3])));
            } else {
                fields.put(key, unescape(value));
            }
        }
        if (rcpts.isEmpty()) {
            throw new IllegalArgumentException("no recipients");
        }
        try {
            return new QueueEntry(
                    required(fields, "id"),
                    instant(required(fields, "arrival")),
                    fields.getOrDefault("client", ""),
                    fields.getOrDefault("helo", ""),
                    fields.getOrDefault("sender", ""),
                    required(fields, "return-path"),
                    Long.parseLong(fields.getOrDefault("size", "0")),
                    Integer.parseInt(required(fields, "attempts")),
                    instant(required(fields, "next-attempt")),
                    "yes".equals(fields.get("warned")),
                    rcpts);
        } catch (NumberFormatException | DateTimeParseException e) {
            throw new IllegalArgumentException("bad value: " + e.getMessage());
        }
    }

    /**
     * {@link Instant#parse}, with a fast path for what {@link Instant#toString} writes in this
     * century ({@code 2026-12-02T20:00:00Z}, {@code ...:00.123Z}, up to nanoseconds): the
     * formatter costs more than the rest of an envelope, and {@code queue list} parses 100,000.
     */
    static Instant instant(String s) {
        int n = s.length();
        if (n >= 20 && n <= 30 && s.charAt(4) == '-' && s.charAt(7) == '-' && s.charAt(10) == 'T'
                && s.charAt(13) == ':' && s.charAt(16) == ':' && s.charAt(n - 1) == 'Z') {
            int year = digits(s, 0, 4);
            int month = digits(s, 5, 7);
            int day = digits(s, 8, 10);
            int hour = digits(s, 11, 13);
            int minute = digits(s, 14, 16);
            int second = digits(s, 17, 19);
            int nanos = 0;
            boolean ok = year >= 1970 && month >= 1 && month <= 12 && day >= 1 && hour >= 0 && hour < 24
                    && minute >= 0 && minute < 60 && second >= 0 && second < 60;
            if (ok && n > 20) {
                int fraction = n - 21; // between '.' and 'Z'
                ok = s.charAt(19) == '.' && fraction >= 1 && fraction <= 9;
                if (ok) {
                    nanos = digits(s, 20, n - 1);
                    for (int i = fraction; i < 9; i++) {
                        nanos *= 10;
                    }
                    ok = nanos >= 0;
                }
            }
            if (ok && day <= java.time.YearMonth.of(year, month).lengthOfMonth()) {
                long epochDay = java.time.LocalDate.of(year, month, day).toEpochDay();
                return Instant.ofEpochSecond(epochDay * 86400 + hour * 3600L + minute * 60L + second, nanos);
            }
        }
        return Instant.parse(s);
    }

    /** The decimal number in {@code s[from, to)}, or -1 when a character is not a digit. */
    private static int digits(String s, int from, int to) {
        int v = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    private static String required(Map<String, String> fields, String key) {
        String v = fields.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing \"" + key + "\"");
        }
        return v;
    }

    private static void line(StringBuilder b, String key, String value) {
        b.append(key).append(": ").append(escape(value)).append('\n');
    }

    static String escape(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '%') {
                if (b == null) {
                    b = new StringBuilder(s.length() + 8).append(s, 0, i);
                }
                b.append('%').append(String.format("%02X", (int) c));
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    static String unescape(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '%' && i + 2 < bytes.length) {
                out.write(Integer.parseInt(new String(bytes, i + 1, 2, StandardCharsets.US_ASCII), 16));
                i += 2;
            } else {
                out.write(bytes[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
