package dev.returnpath.dkim;

import dev.returnpath.message.HeaderBlock;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Makes DKIM-Signature fields (RFC 6376 §5) for a header section and a body hash: relaxed/relaxed,
 * {@code t=} set, no {@code l=} (a length limit lets anyone append to a signed body), and
 * {@code h=} naming the fields of {@link #SIGNED} that are present, each as often as it occurs,
 * with From once more (§8.15, "oversigning": a From added later breaks the signature).
 *
 * <p>Pure but for the JDK's crypto: it reads no file and no clock; the caller passes the time
 * and the body hash ({@link Relaxed#bodyHash}, streamed from the spool file).
 */
public final class DkimSigner {
    /** The fields signed when present, in the order of {@code h=}. */
    public static final List<String> SIGNED = List.of("From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
            "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "List-Unsubscribe", "List-Unsubscribe-Post");

    private DkimSigner() {}

    /**
     * The {@code DKIM-Signature:} field (with its CRLF) that {@code key} makes over {@code headers}
     * (the header section exactly as it leaves) and a body whose relaxed SHA-256 is {@code bodyHash},
     * signed at {@code epochSeconds}.
     */
    public static byte[] sign(DkimKey key, HeaderBlock headers, byte[] bodyHash, long epochSeconds) {
        List<String> h = signedNames(headers);
        String unsigned = "DKIM-Signature: v=1; a=" + key.algorithm().tag() + "; c=relaxed/relaxed; d=" + key.domain()
                + "; s=" + key.selector() + ";\r\n\tt=" + epochSeconds + "; h=" + fold(h) + ";\r\n\tbh="
                + Base64.getEncoder().encodeToString(bodyHash) + ";\r\n\tb=";
        byte[] data = signingInput(headers, h, unsigned.getBytes(StandardCharsets.US_ASCII));
        byte[] b;
        try {
            b = signature(key, data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("signing with " + key + " failed: " + e.getClass().getSimpleName(), e);
        }
        return (unsigned + foldBase64(Base64.getEncoder().encodeToString(b)) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** The relaxed SHA-256 of {@code body} ({@code bh=}, §3.7). */
    public static byte[] bodyHash(byte[] body) {
        return Relaxed.bodyHash(body);
    }

    /**
     * The relaxed SHA-256 of bytes {@code [from, to)} of {@code bytes} (the body as received),
     * streamed through a buffer of at most 64 KiB with positional reads.
     */
    public static byte[] bodyHash(dev.returnpath.message.MessageBytes bytes, long from, long to) throws java.io.IOException {
        return Relaxed.bodyHash(bytes, from, to, java.nio.ByteBuffer.allocate((int) Math.min(64 * 1024, Math.max(1, to - from))));
    }

    /** The {@code h=} list for {@code headers}: each present signed field as often as it occurs, From once more. */
    static List<String> signedNames(HeaderBlock headers) {
        List<String> out = new ArrayList<>();
        for (String name : SIGNED) {
            int n = headers.all(name).size();
            String lower = name.toLowerCase(Locale.ROOT);
            for (int i = 0; i < n; i++) {
                out.add(lower);
            }
            if (name.equals("From")) {
                out.add(lower);
            }
        }
        return out;
    }

    /**
     * §3.7: the canonicalized fields {@code h} names, each name taking that field's instances
     * from the bottom up (a name listed more often than it occurs adds nothing), then the
     * signature field itself, {@code b=} empty, without its CRLF.
     */
    static byte[] signingInput(HeaderBlock headers, List<String> h, byte[] unsignedField) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        Map<String, Integer> used = new HashMap<>();
        for (String name : h) {
            List<HeaderBlock.Field> all = headers.all(name);
            int u = used.merge(name, 1, Integer::sum);
            if (u <= all.size()) {
                out.writeBytes(Relaxed.header(all.get(all.size() - u).raw()));
            }
        }
        byte[] self = Relaxed.header(unsignedField);
        out.write(self, 0, self.length - 2);
        return out.toByteArray();
    }

    static byte[] signature(DkimKey key, byte[] data) throws GeneralSecurityException {
        return switch (key.algorithm()) {
            case RSA_SHA256 -> {
                Signature s = Signature.getInstance("SHA256withRSA");
                s.initSign(key.privateKey());
                s.update(data);
                yield s.sign();
            }
            case ED25519_SHA256 -> {
                // RFC 8463 §3: Ed25519 (pure) over the SHA-256 of the data, not over the data.
                Signature s = Signature.getInstance("Ed25519");
                s.initSign(key.privateKey());
                s.update(MessageDigest.getInstance("SHA-256").digest(data));
                yield s.sign();
            }
        };
    }

    /** {@code h=}'s names joined by colons, folded before a line passes about 76 characters. */
    private static String fold(List<String> names) {
        StringBuilder b = new StringBuilder();
        int line = 16;
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            if (i > 0) {
                b.append(':');
                line++;
                if (line + n.length() > 76) {
                    b.append("\r\n\t ");
                    line = 2;
                }
            }
            b.append(n);
            line += n.length();
        }
        return b.toString();
    }

    private static String foldBase64(String s) {
        StringBuilder b = new StringBuilder(s.length() + s.length() / 70 * 4);
        for (int i = 0; i < s.length(); i += 72) {
            if (i > 0) {
                b.append("\r\n\t ");
            }
            b.append(s, i, Math.min(s.length(), i + 72));
        }
        return b.toString();
    }
}
