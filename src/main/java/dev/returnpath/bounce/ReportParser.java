package dev.returnpath.bounce;

import jakarta.mail.BodyPart;
import jakarta.mail.MessagingException;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.internet.ContentType;
import jakarta.mail.internet.InternetHeaders;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.internet.MimeUtility;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a message from the Return-Path mailbox and returns the reports in it: one per recipient
 * block of a DSN ({@code multipart/report; report-type=delivery-status}, RFC 3464), one for a
 * feedback report ({@code report-type=feedback-report}, RFC 5965), or one for a plain-text
 * bounce from an old MTA (from MAILER-DAEMON or postmaster, or with a bounce subject) that
 * includes the original message's headers. Anything else is not a report: the list is empty and
 * the caller leaves the message alone. Only headers are kept from the returned message, never
 * its body.
 */
public final class ReportParser {
    private static final Session SESSION = Session.getInstance(new Properties());
    private static final Pattern STATUS = Pattern.compile("(?<![\\d.])([245])\\.(\\d{1,3})\\.(\\d{1,3})(?![\\d.])");
    private static final Pattern REPLY = Pattern.compile("(?m)^.*?\\b([45]\\d\\d)[ -]([245]\\.\\d{1,3}\\.\\d{1,3})?.*$");
    private static final Pattern ADDRESS = Pattern.compile("<?([^\\s<>@\"]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,})>?");
    private static final Pattern HEADER_START = Pattern.compile("(?mi)^(Return-Path|Received|Message-ID|From|DKIM-Signature):[ \\t]");
    private static final Pattern BOUNCE_SUBJECT = Pattern.compile(
            "(?i)(undeliver|delivery (status notification|failure|has failed)|mail delivery failed|returned mail|failure notice|non.?delivery)");

    private ReportParser() {}

    public static List<Report> parse(byte[] raw) {
        try {
            MimeMessage m = new MimeMessage(SESSION, new ByteArrayInputStream(raw));
            Optional<String> bounceTo = bounceTo(m);
            ContentType ct = contentType(m);
            if (ct != null && ct.match("multipart/report")) {
                String type = Optional.ofNullable(ct.getParameter("report-type")).orElse("").toLowerCase(Locale.ROOT);
                Multipart mp = new MimeMultipart(m.getDataHandler().getDataSource());
                return switch (type) {
                    case "delivery-status" -> dsn(mp, bounceTo);
                    case "feedback-report" -> arf(m, mp, bounceTo);
                    default -> List.of();
                };
            }
            if (ct == null || ct.match("text/plain") || ct.match("multipart/*")) {
                return plainText(m, bounceTo);
            }
            return List.of();
        } catch (MessagingException | IOException | RuntimeException e) {
            return List.of(); // not a message we understand: leave it alone
        }
    }

    private static List<Report> dsn(Multipart mp, Optional<String> bounceTo) throws MessagingException, IOException {
        List<InternetHeaders> blocks = null;
        String returned = "";
        for (int i = 0; i < mp.getCount(); i++) {
            BodyPart p = mp.getBodyPart(i);
            ContentType ct = contentType(p);
            if (ct == null) {
                continue;
            }
            if (ct.match("message/delivery-status") || ct.match("message/global-delivery-status")) {
                blocks = fieldBlocks(bytes(p));
            } else if (ct.match("message/rfc822") || ct.match("text/rfc822-headers") || ct.match("message/global")
                    || ct.match("message/global-headers")) {
                returned = headersOf(bytes(p));
            }
        }
        if (blocks == null || blocks.isEmpty()) {
            return List.of();
        }
        InternetHeaders perMessage = blocks.get(0);
        String reportingMta = typed(first(perMessage, "Reporting-MTA")).orElse("");
        Optional<String> envid = first(perMessage, "Original-Envelope-Id").map(String::trim);
        Optional<String> originalFrom = returnPath(returned);
        List<Report> out = new ArrayList<>();
        for (InternetHeaders r : blocks.subList(1, blocks.size())) {
            Optional<String> rcpt = typed(first(r, "Final-Recipient")).or(() -> typed(first(r, "Original-Recipient")));
            if (rcpt.isEmpty()) {
                continue;
            }
            String action = first(r, "Action").orElse("").trim().toLowerCase(Locale.ROOT);
            String diagnostic = typed(first(r, "Diagnostic-Code")).orElse("");
            String status = first(r, "Status").flatMap(ReportParser::statusIn).or(() -> statusIn(diagnostic)).orElse("");
            out.add(new Report("dsn", action, status, rcpt.get(), reportingMta, diagnostic, envid, originalFrom,
                    returned, bounceTo, Optional.empty()));
        }
        return out;
    }

    private static List<Report> arf(MimeMessage m, Multipart mp, Optional<String> bounceTo) throws MessagingException, IOException {
        InternetHeaders fields = null;
        String returned = "";
        for (int i = 0; i < mp.getCount(); i++) {
            BodyPart p = mp.getBodyPart(i);
            ContentType ct = contentType(p);
            if (ct == null) {
                continue;
            }
            if (ct.match("message/feedback-report")) {
                List<InternetHeaders> b = fieldBlocks(bytes(p));
                fields = b.isEmpty() ? null : b.get(0);
            } else if (ct.match("message/rfc822") || ct.match("text/rfc822-headers")) {
                returned = headersOf(bytes(p));
            }
        }
        if (fields == null) {
            return List.of();
        }
        return arfReport(fields, returned, fromDomain(m), bounceTo);
    }

    private static List<Report> arfReport(InternetHeaders fields, String returned, Optional<String> fromDomain,
                                          Optional<String> bounceTo) {
        String feedbackType = first(fields, "Feedback-Type").orElse("other").trim().toLowerCase(Locale.ROOT);
        String rcpt = first(fields, "Original-Rcpt-To").flatMap(ReportParser::addressIn)
                .or(() -> headerAddress(returned, "To")).orElse("");
        String reportingMta = typed(first(fields, "Reporting-MTA")).or(() -> first(fields, "User-Agent").map(String::trim))
                .or(() -> fromDomain).orElse("");
        Optional<String> originalFrom = first(fields, "Original-Mail-From").flatMap(ReportParser::addressIn)
                .or(() -> returnPath(returned));
        Optional<String> envid = first(fields, "Original-Envelope-Id").map(String::trim);
        return List.of(new Report("arf", "complaint", "", rcpt, reportingMta, "feedback-type " + feedbackType, envid,
                originalFrom, returned, bounceTo, Optional.of(feedbackType)));
    }

    /** An old MTA's bounce: bounce-like sender or subject, a status or SMTP reply, the original headers. */
    private static List<Report> plainText(MimeMessage m, Optional<String> bounceTo) throws MessagingException, IOException {
        String from = Optional.ofNullable(m.getHeader("From", ",")).orElse("").toLowerCase(Locale.ROOT);
        String subject = Optional.ofNullable(m.getSubject()).orElse("");
        String returnPath = Optional.ofNullable(m.getHeader("Return-Path", ",")).orElse("");
        boolean bounceLike = from.contains("mailer-daemon") || from.contains("postmaster")
                || returnPath.replaceAll("\\s", "").equals("<>") || BOUNCE_SUBJECT.matcher(subject).find();
        if (!bounceLike) {
            return List.of();
        }
        String text = textOf(m);
        if (text == null) {
            return List.of();
        }
        Matcher hs = HEADER_START.matcher(text);
        if (!hs.find()) {
            return List.of();
        }
        String explanation = text.substring(0, hs.start());
        String returned = headersOf(text.substring(hs.start()).getBytes(StandardCharsets.UTF_8));
        if (!returned.toLowerCase(Locale.ROOT).contains("received:") && !returned.toLowerCase(Locale.ROOT).contains("message-id:")) {
            return List.of();
        }
        String diagnostic = "";
        Matcher r = REPLY.matcher(explanation);
        if (r.find()) {
            diagnostic = r.group().trim();
        }
        String status = statusIn(diagnostic).or(() -> statusIn(explanation)).orElse(diagnostic.isEmpty() ? "" : diagnostic.charAt(0) + ".0.0");
        String rcpt = recipientIn(explanation, bounceTo).or(() -> headerAddress(returned, "To")).orElse("");
        if (rcpt.isEmpty() || (status.isEmpty() && diagnostic.isEmpty())) {
            return List.of();
        }
        String action = status.startsWith("4") ? "delayed" : "failed";
        return List.of(new Report("text", action, status, rcpt, fromDomain(m).orElse(""), diagnostic, Optional.empty(),
                returnPath(returned), returned, bounceTo, Optional.empty()));
    }

    private static Optional<String> recipientIn(String explanation, Optional<String> bounceTo) {
        Matcher a = ADDRESS.matcher(explanation);
        while (a.find()) {
            String addr = a.group(1);
            String lower = addr.toLowerCase(Locale.ROOT);
            if (lower.startsWith("mailer-daemon@") || lower.startsWith("postmaster@")
                    || bounceTo.map(b -> b.equalsIgnoreCase(addr)).orElse(false)) {
                continue;
            }
            return Optional.of(addr);
        }
        return Optional.empty();
    }

    private static String textOf(Part p) throws MessagingException, IOException {
        ContentType ct = contentType(p);
        if (ct == null || ct.match("text/plain")) {
            String cs = ct == null ? null : ct.getParameter("charset");
            return new String(bytes(p), charset(cs));
        }
        if (ct.match("multipart/*")) {
            Multipart mp = new MimeMultipart(p.getDataHandler().getDataSource());
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < mp.getCount(); i++) {
                BodyPart bp = mp.getBodyPart(i);
                ContentType bct = contentType(bp);
                if (bct != null && (bct.match("message/rfc822") || bct.match("text/rfc822-headers"))) {
                    b.append(new String(bytes(bp), StandardCharsets.UTF_8)).append("\n");
                    continue;
                }
                String t = textOf(bp);
                if (t != null) {
                    b.append(t).append("\n");
                }
            }
            return b.toString();
        }
        return null;
    }

    private static java.nio.charset.Charset charset(String cs) {
        try {
            return cs == null ? StandardCharsets.UTF_8 : java.nio.charset.Charset.forName(MimeUtility.javaCharset(cs));
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    /** The header blocks of a delivery-status or feedback-report body, separated by blank lines. */
    static List<InternetHeaders> fieldBlocks(byte[] body) throws MessagingException {
        String s = new String(body, StandardCharsets.UTF_8).replace("\r\n", "\n");
        List<InternetHeaders> out = new ArrayList<>();
        for (String block : s.split("\n[ \t]*\n")) {
            if (block.isBlank()) {
                continue;
            }
            String b = block.replaceAll("^\n+", "") + "\n\n";
            out.add(new InternetHeaders(new ByteArrayInputStream(b.getBytes(StandardCharsets.UTF_8))));
        }
        return out;
    }

    /** The header block at the start of {@code raw}, unfolded lines kept, body dropped. */
    static String headersOf(byte[] raw) {
        String s = new String(raw, StandardCharsets.UTF_8).replace("\r\n", "\n");
        int end = s.indexOf("\n\n");
        return end < 0 ? s : s.substring(0, end + 1);
    }

    private static Optional<String> returnPath(String headers) {
        return headerAddress(headers, "Return-Path");
    }

    private static Optional<String> headerAddress(String headers, String name) {
        Matcher h = Pattern.compile("(?mi)^" + Pattern.quote(name) + ":[ \\t]*(.*(?:\\n[ \\t].*)*)").matcher(headers);
        return h.find() ? addressIn(h.group(1)) : Optional.empty();
    }

    private static Optional<String> addressIn(String s) {
        Matcher a = ADDRESS.matcher(s);
        return a.find() ? Optional.of(a.group(1)) : Optional.empty();
    }

    /** {@code rfc822; x@y} → {@code x@y}; {@code dns; mx.example.com} → {@code mx.example.com}. */
    private static Optional<String> typed(Optional<String> field) {
        return field.map(f -> {
            String v = f.replaceAll("\\s*\\r?\\n\\s*", " ").trim();
            int semi = v.indexOf(';');
            v = semi >= 0 ? v.substring(semi + 1).trim() : v;
            return v.startsWith("<") && v.endsWith(">") ? v.substring(1, v.length() - 1) : v;
        }).filter(v -> !v.isEmpty());
    }

    private static Optional<String> first(InternetHeaders h, String name) {
        String[] v = h.getHeader(name);
        return v == null || v.length == 0 ? Optional.empty() : Optional.of(v[0]);
    }

    private static Optional<String> statusIn(String s) {
        Matcher m = STATUS.matcher(s == null ? "" : s);
        return m.find() ? Optional.of(m.group(1) + "." + Integer.parseInt(m.group(2)) + "." + Integer.parseInt(m.group(3)))
                : Optional.empty();
    }

    private static Optional<String> bounceTo(MimeMessage m) throws MessagingException {
        for (String name : List.of("Delivered-To", "X-Original-To", "To")) {
            String v = m.getHeader(name, ",");
            if (v != null) {
                Optional<String> a = addressIn(v);
                if (a.isPresent()) {
                    return a;
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<String> fromDomain(MimeMessage m) throws MessagingException {
        return Optional.ofNullable(m.getHeader("From", ",")).flatMap(ReportParser::addressIn)
                .map(a -> a.substring(a.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT));
    }

    private static ContentType contentType(Part p) {
        try {
            String[] v = p.getHeader("Content-Type");
            return v == null || v.length == 0 ? null : new ContentType(v[0]);
        } catch (MessagingException e) {
            return null;
        }
    }

    private static byte[] bytes(Part p) throws MessagingException, IOException {
        try (InputStream in = p.getInputStream()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }
}
