package dev.returnpath.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code returnpath.bounces.imap}: the Return-Path mailbox returnpath reads DSNs and complaints
 * from. Off while {@code host} is unset. TLS is always on and verified ({@code implicit}, port
 * 993, or {@code starttls}, port 143), against {@code ca-file} when set, else the JDK's trust
 * store. The login comes from {@code username} and {@code password} (in the file, or from
 * {@code RETURNPATH_BOUNCES_IMAP_USERNAME} and {@code RETURNPATH_BOUNCES_IMAP_PASSWORD}, which
 * reference.conf substitutes) or {@code password-file} ({@link Secrets}); the password never
 * appears in a log line, an error or a reload summary.
 */
public final class BouncesSection {
    private static final String P = "returnpath.bounces.imap.";

    public enum ImapTls { IMPLICIT, STARTTLS }

    public enum After { MOVE, DELETE, SEEN }

    public record Imap(Endpoint endpoint, ImapTls tls, String username, String password, String folder,
                       Duration interval, After after, String moveTo, Optional<Path> caFile) {
        @Override
        public String toString() {
            return "Imap[" + endpoint + " " + tls + " user=" + username + " folder=" + folder + " after=" + after + "]";
        }
    }

    private BouncesSection() {}

    static Optional<Imap> parse(ConfigReader r) throws ConfigException {
        if (!r.has(P + "host") || r.optString(P + "host").isEmpty()) {
            return Optional.empty();
        }
        String host = r.host(P + "host", "bounces.imap.port");
        ImapTls tls = r.enumOf(P + "tls", ImapTls.class);
        int port = r.has(P + "port") && r.optString(P + "port").isPresent() ? r.port(P + "port", false)
                : tls == ImapTls.IMPLICIT ? 993 : 143;
        String user = r.optString(P + "username").orElseThrow(() ->
                r.error(P + "username", "required with bounces.imap.host"));
        String password = Secrets.optSecret(r, P + "password").filter(s -> !s.isEmpty()).orElseThrow(() ->
                r.error(P + "password", "required with bounces.imap.host (or password-file)"));
        Optional<Path> caFile = r.optString(P + "ca-file").filter(s -> !s.isEmpty()).map(Path::of);
        if (caFile.isPresent() && !Files.isReadable(caFile.get())) {
            throw r.error(P + "ca-file", "cannot read \"" + caFile.get() + "\"");
        }
        String folder = r.string(P + "folder");
        After after = r.enumOf(P + "after", After.class);
        String moveTo = r.string(P + "move-to");
        if (after == After.MOVE && (moveTo.isBlank() || moveTo.equals(folder))) {
            throw r.error(P + "move-to", "must name a folder other than bounces.imap.folder when after = move");
        }
        Duration interval = r.durationIn(P + "interval", Duration.ofSeconds(1), Duration.ofDays(1));
        return Optional.of(new Imap(new Endpoint(host, port), tls, user, password, folder, interval, after, moveTo, caFile));
    }
}
