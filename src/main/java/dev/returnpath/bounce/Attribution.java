package dev.returnpath.bounce;

import dev.returnpath.config.HashKey;
import dev.returnpath.config.ReturnPathTemplate;
import dev.returnpath.config.ReturnPathTemplate.Part;
import dev.returnpath.rewrite.ReturnPaths;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ties a {@link Report} to the message returnpath sent, in this order:
 * <ol>
 * <li>the queue ID in our {@code Received:} line ({@code by HOST (returnpath) with ESMTP id ID})
 *     among the returned headers;</li>
 * <li>{@code Original-Envelope-Id}, when it is a queue ID;</li>
 * <li>the address the report was sent to (or the returned {@code Return-Path}), when it is an
 *     expansion of a {@code {hash}} return-path template whose hash, recomputed with
 *     {@code rewrite.hash-key} from the {@code {local}} and {@code {domain}} in it, matches. This
 *     also gives the original envelope sender (the app). A wrong hash is not attributed.</li>
 * </ol>
 */
public final class Attribution {
    private static final Pattern OUR_RECEIVED =
            Pattern.compile("\\(returnpath\\)\\s+with\\s+\\S+\\s+id\\s+([0-9A-F]{13})\\b");
    private static final Pattern QUEUE_ID = Pattern.compile("[0-9A-F]{13}");

    public enum Via { RECEIVED, ENVID, HASH, NONE }

    /** @param originalFrom the app's envelope sender, when the template gave it */
    public record Result(Optional<String> queueId, Optional<String> originalFrom, Via via) {
        public boolean attributed() {
            return via != Via.NONE;
        }
    }

    private final List<ReturnPathTemplate> templates;
    private final Optional<HashKey> key;

    public Attribution(List<ReturnPathTemplate> templates, Optional<HashKey> key) {
        this.templates = List.copyOf(templates);
        this.key = key;
    }

    public Result attribute(Report r) {
        Optional<String> fromHash = fromTemplate(r.bounceTo().orElse(""))
                .or(() -> r.originalFrom().flatMap(this::fromTemplate));
        Matcher m = OUR_RECEIVED.matcher(r.returnedHeaders());
        if (m.find()) {
            return new Result(Optional.of(m.group(1)), fromHash, Via.RECEIVED);
        }
        Optional<String> envid = r.envelopeId().map(String::trim).filter(e -> QUEUE_ID.matcher(e).matches());
        if (envid.isPresent()) {
            return new Result(envid, fromHash, Via.ENVID);
        }
        if (fromHash.isPresent()) {
            return new Result(Optional.empty(), fromHash, Via.HASH);
        }
        return new Result(Optional.empty(), Optional.empty(), Via.NONE);
    }

    /** The original sender encoded in {@code address}, if it expands a template with a verified hash. */
    Optional<String> fromTemplate(String address) {
        if (key.isEmpty() || address.isEmpty()) {
            return Optional.empty();
        }
        int at = address.lastIndexOf('@');
        if (at <= 0) {
            return Optional.empty();
        }
        String local = address.substring(0, at);
        String domain = address.substring(at + 1);
        for (ReturnPathTemplate t : templates) {
            if (!t.usesHash() || !t.domain().equalsIgnoreCase(domain)) {
                continue;
            }
            Optional<String> found = match(t, local);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    private Optional<String> match(ReturnPathTemplate t, String local) {
        StringBuilder re = new StringBuilder();
        boolean hasLocal = false;
        boolean hasDomain = false;
        for (Part p : t.localPart()) {
            switch (p) {
                case Part.Literal l -> re.append(Pattern.quote(l.text()));
                case Part.Placeholder ph -> {
                    switch (ph.kind()) {
                        case LOCAL -> {
                            re.append("(?<local>.+)");
                            hasLocal = true;
                        }
                        case DOMAIN -> {
                            re.append("(?<domain>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)");
                            hasDomain = true;
                        }
                        case HASH -> re.append("(?<hash>[A-Za-z2-7]{" + ReturnPathTemplate.HASH_LENGTH + "})");
                    }
                }
            }
        }
        if (!hasLocal || !hasDomain) {
            return Optional.empty(); // the hash alone does not say whose it is
        }
        Matcher m = Pattern.compile(re.toString(), Pattern.CASE_INSENSITIVE).matcher(local);
        if (!m.matches()) {
            return Optional.empty();
        }
        String original = m.group("local") + "@" + m.group("domain").toLowerCase(Locale.ROOT);
        byte[] expected = ReturnPaths.hash(key.get(), original).getBytes(StandardCharsets.US_ASCII);
        byte[] given = m.group("hash").toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(expected, given) ? Optional.of(original) : Optional.empty();
    }
}
