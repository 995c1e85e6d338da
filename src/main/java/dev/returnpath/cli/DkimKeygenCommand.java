package dev.returnpath.cli;

import dev.returnpath.dkim.DkimKey;
import dev.returnpath.message.Addresses;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code dkim-keygen --domain D --selector S [--type rsa|ed25519] [--bits 2048] --out FILE}:
 * a new signing key, written as PKCS#8 PEM with mode 0600 (created so, never widened first),
 * and on stdout the TXT record to publish, in zone-file form with strings of at most 255
 * characters (RFC 1035 §3.3.14; RFC 6376 §3.6.2.2 joins them). An existing file is never
 * overwritten: a key that signs mail is not replaced by a typo.
 */
@Command(name = "dkim-keygen", mixinStandardHelpOptions = true,
        description = "Make a DKIM signing key (PKCS#8 PEM, mode 0600) and print the TXT record to publish.")
final class DkimKeygenCommand implements Callable<Integer> {
    /** The longest string one TXT record string may hold. */
    static final int TXT_STRING = 255;

    @Option(names = "--domain", required = true, description = "The signing domain (d=), e.g. example.com.")
    String domain;

    @Option(names = "--selector", required = true, description = "The selector (s=), e.g. rp2026.")
    String selector;

    @Option(names = "--type", defaultValue = "rsa", description = "rsa (rsa-sha256) or ed25519 (ed25519-sha256). Default: ${DEFAULT-VALUE}.")
    String type;

    @Option(names = "--bits", defaultValue = "2048", description = "RSA key size, 1024 to 4096. Default: ${DEFAULT-VALUE}.")
    int bits;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write the private key; must not exist.")
    Path out;

    @Override
    public Integer call() {
        String d = domain.toLowerCase(Locale.ROOT);
        String s = selector.toLowerCase(Locale.ROOT);
        if (!Addresses.isValidDomain(d) || !d.contains(".")) {
            return usage("--domain \"" + domain + "\" is not a domain name");
        }
        if (!Addresses.isValidDomain(s)) {
            return usage("--selector \"" + selector + "\" is not a DKIM selector (DNS labels such as rp2026)");
        }
        DkimKey.Algorithm a = switch (type.toLowerCase(Locale.ROOT)) {
            case "rsa" -> DkimKey.Algorithm.RSA_SHA256;
            case "ed25519" -> DkimKey.Algorithm.ED25519_SHA256;
            default -> null;
        };
        if (a == null) {
            return usage("--type must be rsa or ed25519, not \"" + type + "\"");
        }
        if (a == DkimKey.Algorithm.RSA_SHA256 && (bits < DkimKey.MIN_RSA_BITS || bits > 4096)) {
            return usage("--bits must be between " + DkimKey.MIN_RSA_BITS + " and 4096 (2048 recommended), not " + bits);
        }
        DkimKey key;
        try {
            KeyPair pair = DkimKey.generate(a, bits);
            write(out, DkimKey.pem(pair.getPrivate()));
            key = DkimKey.load(d, s, out);
        } catch (FileAlreadyExistsException e) {
            System.err.println("returnpath: " + out + " exists; a key in use is not overwritten (choose another --out, or a new selector)");
            return Main.EXIT_USAGE;
        } catch (IOException e) {
            System.err.println("returnpath: cannot write " + out + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage()));
            return Main.EXIT_CANTCREAT;
        } catch (GeneralSecurityException | DkimKey.KeyException e) {
            System.err.println("returnpath: cannot make the key: " + e.getMessage());
            return 70;
        }
        if (key.belowRecommendedSize()) {
            System.err.println("returnpath: warning: a " + bits + "-bit RSA key; receivers such as Gmail ask for 2048 bits");
        }
        System.err.println("returnpath: wrote " + out + " (mode 0600). Publish this record, then add to returnpath.domains.\""
                + d + "\".dkim: { selector = \"" + s + "\", key-file = \"" + out.toAbsolutePath() + "\" }");
        System.out.println(zoneLine(key));
        return 0;
    }

    /** {@code S._domainkey.D. IN TXT ( "..." "..." )}: the record, split into 255-character strings. */
    static String zoneLine(DkimKey key) {
        List<String> parts = split(key.record());
        StringBuilder b = new StringBuilder(key.recordName()).append(". IN TXT ");
        if (parts.size() == 1) {
            return b.append('"').append(parts.get(0)).append('"').toString();
        }
        b.append('(');
        for (String p : parts) {
            b.append(' ').append('"').append(p).append('"');
        }
        return b.append(" )").toString();
    }

    static List<String> split(String record) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < record.length(); i += TXT_STRING) {
            parts.add(record.substring(i, Math.min(record.length(), i + TXT_STRING)));
        }
        return parts;
    }

    /** Creates {@code file} with mode 0600 (the mode is set at creation) and fsyncs it. */
    private static void write(Path file, String pem) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            ByteBuffer b = ByteBuffer.wrap(pem.getBytes(StandardCharsets.US_ASCII));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    private static int usage(String message) {
        System.err.println("returnpath dkim-keygen: " + message);
        return Main.EXIT_USAGE;
    }
}
