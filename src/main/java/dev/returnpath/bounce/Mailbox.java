package dev.returnpath.bounce;

import dev.returnpath.config.BouncesSection.Imap;
import dev.returnpath.config.BouncesSection.ImapTls;
import dev.returnpath.tls.TrustedCas;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Store;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.Properties;

/**
 * The IMAP connection to the Return-Path mailbox, through Angus Mail's IMAP provider: TLS always
 * (implicit or STARTTLS, required), the server's certificate checked against {@code ca-file} or
 * the JDK's trust store and its name against the host, and messages read with
 * {@code BODY.PEEK} so that reading one does not mark it seen.
 */
final class Mailbox {
    private static final String TIMEOUT = "30000";

    private Mailbox() {}

    static Store connect(Imap cfg) throws MessagingException {
        boolean implicit = cfg.tls() == ImapTls.IMPLICIT;
        String proto = implicit ? "imaps" : "imap";
        String p = "mail." + proto + ".";
        Properties props = new Properties();
        props.put(p + "host", cfg.endpoint().host());
        props.put(p + "port", String.valueOf(cfg.endpoint().port()));
        props.put(p + "connectiontimeout", TIMEOUT);
        props.put(p + "timeout", TIMEOUT);
        props.put(p + "writetimeout", TIMEOUT);
        props.put(p + "peek", "true");
        props.put(p + "ssl.checkserveridentity", "true");
        props.put(p + "ssl.protocols", "TLSv1.3 TLSv1.2");
        props.put(p + "ssl.socketFactory", socketFactory(cfg));
        if (!implicit) {
            props.put(p + "starttls.enable", "true");
            props.put(p + "starttls.required", "true");
        }
        props.put(p + "auth.plain.disable", "false");
        Session session = Session.getInstance(props);
        Store store = session.getStore(proto);
        store.connect(cfg.endpoint().host(), cfg.endpoint().port(), cfg.username(), cfg.password());
        return store;
    }

    private static SSLSocketFactory socketFactory(Imap cfg) throws MessagingException {
        try {
            if (cfg.caFile().isEmpty()) {
                return SSLContext.getDefault().getSocketFactory();
            }
            return TrustedCas.socketFactory(cfg.caFile().get());
        } catch (GeneralSecurityException | IOException e) {
            throw new MessagingException("cannot use bounces.imap.ca-file: " + e.getMessage());
        }
    }
}
