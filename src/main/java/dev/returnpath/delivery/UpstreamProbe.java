package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.config.RelayConfig.SmarthostTls;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import org.eclipse.angus.mail.smtp.SMTPTransport;

import javax.net.ssl.SSLSocketFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Checks the smarthost without sending mail: it accepts a TCP connection and EHLO; it offers
 * STARTTLS with a certificate that verifies (or speaks TLS at once, for {@code implicit}); and
 * it accepts AUTH with the configured credentials. Each step is its own connection, closed with
 * QUIT, using the same session settings as delivery.
 */
public final class UpstreamProbe {

    /** One step: {@code step} is connect, tls or auth. */
    public record Step(String step, Verdict verdict, String found) {}

    public enum Verdict { OK, WARN, FAILED, SKIPPED }

    private UpstreamProbe() {}

    public static List<Step> probe(RelayConfig config) {
        RelayConfig.Smarthost sm = config.delivery().smarthost();
        List<Step> out = new ArrayList<>();
        if (sm.host().isEmpty()) {
            out.add(new Step("connect", Verdict.FAILED, "delivery.smarthost.host is not set"));
            return out;
        }
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "probe-write-timeouts");
            t.setDaemon(true);
            return t;
        });
        try {
            SSLSocketFactory ca = sm.caFile().map(SmarthostDelivery::trusting).orElse(null);
            // 1. TCP and EHLO, in the clear (or TLS at once for implicit)
            SmarthostTls first = sm.tls() == SmarthostTls.IMPLICIT ? SmarthostTls.IMPLICIT : SmarthostTls.NONE;
            boolean offersStarttls;
            try {
                SMTPTransport t = connect(config, ca, first, timer, false);
                offersStarttls = t.supportsExtension("STARTTLS");
                String ehlo = t.getLastServerResponse();
                close(t);
                out.add(new Step("connect", Verdict.OK, "accepted EHLO" + (ehlo == null ? "" : ": " + oneLine(ehlo))));
            } catch (MessagingException e) {
                out.add(new Step("connect", Verdict.FAILED, "cannot connect: " + why(e)));
                out.add(new Step("tls", Verdict.SKIPPED, "no connection"));
                if (sm.username().isPresent()) {
                    out.add(new Step("auth", Verdict.SKIPPED, "no connection"));
                }
                return out;
            }
            // 2. TLS
            switch (sm.tls()) {
                case NONE -> out.add(new Step("tls", Verdict.WARN, "tls = none, mail crosses the network in clear"
                        + (offersStarttls ? " although the server offers STARTTLS" : "")));
                case IMPLICIT -> out.add(new Step("tls", Verdict.OK, "implicit TLS, certificate verified"));
                case STARTTLS -> {
                    if (!offersStarttls) {
                        out.add(new Step("tls", Verdict.FAILED, "does not offer STARTTLS"));
                    } else {
                        try {
                            close(connect(config, ca, SmarthostTls.STARTTLS, timer, false));
                            out.add(new Step("tls", Verdict.OK, "STARTTLS, certificate verified"));
                        } catch (MessagingException e) {
                            out.add(new Step("tls", Verdict.FAILED, "STARTTLS failed: " + why(e)));
                        }
                    }
                }
            }
            // 3. AUTH
            if (sm.username().isPresent()) {
                if (out.get(out.size() - 1).verdict() == Verdict.FAILED) {
                    out.add(new Step("auth", Verdict.SKIPPED, "TLS failed: credentials not sent"));
                } else {
                    try {
                        close(connect(config, ca, sm.tls(), timer, true));
                        out.add(new Step("auth", Verdict.OK, "accepted AUTH for " + sm.username().get()));
                    } catch (AuthenticationFailedException e) {
                        out.add(new Step("auth", Verdict.FAILED, "refused AUTH for " + sm.username().get()
                                + ": " + oneLine(e.getMessage())));
                    } catch (MessagingException e) {
                        out.add(new Step("auth", Verdict.FAILED, why(e)));
                    }
                }
            }
            return out;
        } finally {
            timer.shutdownNow();
        }
    }

    private static SMTPTransport connect(RelayConfig config, SSLSocketFactory ca, SmarthostTls mode,
                                         ScheduledExecutorService timer, boolean auth) throws MessagingException {
        Properties p = SmarthostDelivery.properties(config, false, ca, mode, timer);
        RelayConfig.Smarthost sm = config.delivery().smarthost();
        if (auth) {
            p.put("mail.smtp.auth", "true");
        }
        SMTPTransport t = (SMTPTransport) Session.getInstance(p).getTransport("smtp");
        String host = p.getProperty("mail.smtp.host");
        if (auth) {
            t.connect(host, sm.port(), sm.username().get(), sm.password().orElse(""));
        } else {
            t.connect(host, sm.port(), null, null);
        }
        return t;
    }

    private static void close(SMTPTransport t) {
        try {
            t.close();
        } catch (MessagingException ignored) {
            // the probe is over
        }
    }

    private static String why(Exception e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return oneLine(m);
    }

    private static String oneLine(String s) {
        return s == null ? "" : Reply.oneLine(s);
    }
}
