package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.config.RelayConfig.SmarthostTls;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;
import dev.returnpath.message.Addresses;
import jakarta.mail.Address;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPMessage;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.smtp.SMTPTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * The smarthost delivery as it was before the SMTP client engine: Angus Mail's SMTPTransport,
 * pooled, kept in the tests only so that {@link DeliveryCpuBench} can measure the two side by
 * side on the same machine.
 */
final class AngusBaseline implements Delivery {
    private static final Logger log = LoggerFactory.getLogger(AngusBaseline.class);
    static final long CHECK_AFTER_IDLE_MS = 2_000;
    static final long MAX_IDLE_MS = 60_000;
    private static final int MAX_POOLED = 64;

    private final RelayConfig.Smarthost config;
    private final String host;
    private final Session ascii;
    private final Session utf8;
    private final ScheduledExecutorService writeTimeouts;
    private final Map<Session, ConcurrentLinkedDeque<Pooled>> idle = new HashMap<>();
    private volatile boolean closed;

    private record Pooled(SMTPTransport transport, long since) {}

    AngusBaseline(RelayConfig config) {
        this.config = config.delivery().smarthost();
        String h = this.config.host().orElseThrow(() -> new IllegalArgumentException("delivery.smarthost.host is not set"));
        this.host = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "smtp-write-timeouts");
            t.setDaemon(true);
            return t;
        });
        // Angus schedules a timeout task for every write and cancels it when the write is done.
        // Without this a cancelled task stays queued until it would have fired (command-timeout,
        // 5 min): at 1,000 messages/s that is over a million dead tasks on the heap, and every
        // schedule pays O(log n) on that queue.
        timer.setRemoveOnCancelPolicy(true);
        this.writeTimeouts = timer;
        SSLSocketFactory tls = this.config.caFile().map(AngusBaseline::trusting).orElse(null);
        this.ascii = Session.getInstance(properties(config, false, tls));
        this.utf8 = Session.getInstance(properties(config, true, tls));
        idle.put(ascii, new ConcurrentLinkedDeque<>());
        idle.put(utf8, new ConcurrentLinkedDeque<>());
    }

    private Properties properties(RelayConfig config, boolean smtputf8, SSLSocketFactory tls) {
        Properties p = properties(config, smtputf8, tls, this.config.tls(), writeTimeouts);
        if (this.config.username().isPresent()) {
            p.put("mail.smtp.auth", "true");
        }
        return p;
    }

    /**
     * Angus session properties for the smarthost with TLS mode {@code mode}: every I/O with a
     * deadline, certificate and host-name verification, TLS 1.2 and 1.3 only. Shared with
     * {@link UpstreamProbe}, so that the doctor checks exactly what delivery does.
     */
    static Properties properties(RelayConfig config, boolean smtputf8, SSLSocketFactory tls,
                                 SmarthostTls mode, ScheduledExecutorService writeTimeouts) {
        Properties p = new Properties();
        RelayConfig.Delivery d = config.delivery();
        RelayConfig.Smarthost sm = d.smarthost();
        String h = sm.host().orElseThrow();
        p.put("mail.smtp.host", h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h);
        p.put("mail.smtp.port", String.valueOf(sm.port()));
        p.put("mail.smtp.localhost", config.hostname());
        // Angus waits forever by default: every I/O gets a deadline,
        // so that neither a message nor shutdown can hang on a stalled upstream.
        p.put("mail.smtp.connectiontimeout", String.valueOf(d.connectTimeout().toMillis()));
        p.put("mail.smtp.timeout", String.valueOf(d.commandTimeout().toMillis()));
        p.put("mail.smtp.writetimeout", String.valueOf(d.commandTimeout().toMillis()));
        p.put("mail.smtp.executor.writetimeout", writeTimeouts);
        // DATA goes out when at least one recipient is accepted; the others get a DSN.
        p.put("mail.smtp.sendpartial", "true");
        p.put("mail.smtp.quitwait", "false");
        p.put("mail.mime.allowutf8", String.valueOf(smtputf8));
        p.put("mail.smtp.ssl.checkserveridentity", "true");
        p.put("mail.smtp.ssl.protocols", "TLSv1.3 TLSv1.2");
        switch (mode) {
            case STARTTLS -> {
                p.put("mail.smtp.starttls.enable", "true");
                p.put("mail.smtp.starttls.required", "true");
            }
            case IMPLICIT -> p.put("mail.smtp.ssl.enable", "true");
            case NONE -> {
            }
        }
        if (tls != null) {
            p.put("mail.smtp.ssl.socketFactory", tls);
        }
        return p;
    }

    /** An SSL socket factory that trusts the certificates in {@code caFile} (PEM), and only them. */
    static SSLSocketFactory trusting(Path caFile) {
        try (InputStream in = Files.newInputStream(caFile)) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
            if (i == 0) {
                throw new IllegalArgumentException("no certificate in " + caFile);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx.getSocketFactory();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use CA file " + caFile + ": " + e.getMessage(), e);
        }
    }

    /** {@code host[ip]:port}, as Postfix names a relay in its log. */
    public String relayName() {
        String ip;
        try {
            ip = InetAddress.getByName(host).getHostAddress();
        } catch (UnknownHostException e) {
            ip = "unknown";
        }
        return host + "[" + ip + "]:" + config.port();
    }

    @Override
    public DeliveryOutcome deliver(Envelope envelope, OutboundMessage message) {
        long start = System.nanoTime();
        boolean needsUtf8 = Addresses.needsUtf8(envelope.reversePath())
                || envelope.forwardPaths().stream().anyMatch(Addresses::needsUtf8);
        Session session = needsUtf8 ? utf8 : ascii;
        String relay = relayName();
        SMTPTransport transport;
        try {
            transport = borrow(session);
        } catch (MessagingException e) {
            return all(envelope, Status.DEFERRED, connectFailure(e), false, relay, start);
        }
        boolean reusable = false;
        try {
            RawMessage m = new RawMessage(session, message);
            m.setEnvelopeFrom(envelope.reversePath().isEmpty() ? "<>" : envelope.reversePath());
            if (transport.supportsExtension("8BITMIME")) {
                m.setMailExtension("BODY=8BITMIME");
            }
            Address[] rcpts = addresses(envelope.forwardPaths());
            try {
                transport.sendMessage(m, rcpts);
                reusable = true;
                Reply ok = Reply.parse(250, transport.getLastServerResponse());
                return all(envelope, Status.SENT, ok, true, relay, start);
            } catch (SMTPSendFailedException e) {
                if (e.getReturnCode() < 200) {
                    // no reply at all: the connection broke (Angus reports -1 "[EOF]")
                    return all(envelope, Status.DEFERRED, Reply.of(451, "4.4.2", "lost connection with " + host + ":"
                            + config.port() + " while sending the message"), false, relay, start);
                }
                reusable = transport.isConnected();
                return failed(envelope, e, relay, start);
            } catch (SendFailedException e) {
                reusable = true;
                return failed(envelope, e, relay, start);
            } catch (MessagingException e) {
                return all(envelope, Status.DEFERRED, connectFailure(e), false, relay, start);
            }
        } finally {
            if (reusable && !closed) {
                giveBack(session, transport);
            } else {
                closeQuietly(transport);
            }
        }
    }

    private SMTPTransport borrow(Session session) throws MessagingException {
        ConcurrentLinkedDeque<Pooled> pool = idle.get(session);
        Pooled p;
        long now = System.currentTimeMillis();
        while ((p = pool.pollFirst()) != null) {
            long idleFor = now - p.since();
            if (idleFor > MAX_IDLE_MS) {
                closeQuietly(p.transport());
                continue;
            }
            // isConnected() costs a NOOP round trip: only for connections idle a while
            if (idleFor < CHECK_AFTER_IDLE_MS || p.transport().isConnected()) {
                return p.transport();
            }
            closeQuietly(p.transport());
        }
        SMTPTransport t = (SMTPTransport) session.getTransport("smtp");
        if (config.username().isPresent()) {
            t.connect(host, config.port(), config.username().get(), config.password().orElse(""));
        } else {
            t.connect(host, config.port(), null, null);
        }
        return t;
    }

    private void giveBack(Session session, SMTPTransport t) {
        ConcurrentLinkedDeque<Pooled> pool = idle.get(session);
        if (pool.size() >= MAX_POOLED) {
            closeQuietly(t);
            return;
        }
        pool.offerFirst(new Pooled(t, System.currentTimeMillis()));
    }

    private static void closeQuietly(SMTPTransport t) {
        try {
            t.close();
        } catch (MessagingException | RuntimeException e) {
            // closing a broken connection: nothing left to do
        }
    }

    private static Address[] addresses(List<String> forwardPaths) {
        Address[] out = new Address[forwardPaths.size()];
        for (int i = 0; i < out.length; i++) {
            InternetAddress a = new InternetAddress();
            a.setAddress(forwardPaths.get(i)); // no parsing: the address was checked at RCPT
            out[i] = a;
        }
        return out;
    }

    private DeliveryOutcome failed(Envelope envelope, SendFailedException e, String relay, long start) {
        Map<String, Reply> perRecipient = new HashMap<>();
        for (Exception x = e.getNextException(); x != null;
             x = x instanceof MessagingException me ? me.getNextException() : null) {
            if (x instanceof SMTPAddressFailedException af) {
                perRecipient.put(af.getAddress().getAddress(), Reply.parse(af.getReturnCode(), af.getMessage()));
            }
        }
        Reply whole = null;
        if (e instanceof SMTPSendFailedException sf && sf.getReturnCode() != 250) {
            // MAIL FROM or DATA refused: the same verdict for every recipient
            whole = Reply.parse(sf.getReturnCode(), sf.getMessage());
        }
        List<String> sent = names(e.getValidSentAddresses());
        List<RecipientOutcome> out = new ArrayList<>();
        for (String rcpt : envelope.forwardPaths()) {
            Reply r = perRecipient.get(rcpt);
            if (r == null && whole != null) {
                r = whole;
            }
            if (r == null && sent.contains(rcpt)) {
                out.add(new RecipientOutcome(rcpt, Status.SENT, Reply.of(250, "2.0.0", "Ok"), true));
                continue;
            }
            boolean said = r != null;
            if (r == null) {
                // not sent because of the others: try again later
                r = Reply.of(451, "4.5.0", "not sent: " + oneLine(e.getMessage()));
            }
            out.add(new RecipientOutcome(rcpt, r.isPermanent() ? Status.BOUNCED : r.isPositive() ? Status.SENT : Status.DEFERRED, r, said));
        }
        return new DeliveryOutcome(relay, out, seconds(start));
    }

    private static List<String> names(Address[] addresses) {
        List<String> out = new ArrayList<>();
        if (addresses != null) {
            for (Address a : addresses) {
                out.add(((InternetAddress) a).getAddress());
            }
        }
        return out;
    }

    /** A connection, TLS or I/O failure: the upstream said nothing we can relay. */
    private Reply connectFailure(MessagingException e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String what = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        if (root instanceof ConnectException || root instanceof UnknownHostException) {
            return Reply.of(451, "4.4.1", "connect to " + host + ":" + config.port() + " failed: " + what);
        }
        if (root instanceof SocketTimeoutException) {
            return Reply.of(451, "4.4.2", "timeout talking to " + host + ":" + config.port() + ": " + what);
        }
        boolean tlsProblem = false;
        for (Throwable c = e; c != null && !tlsProblem; c = c.getCause() == c ? null : c.getCause()) {
            tlsProblem = c instanceof javax.net.ssl.SSLException || c instanceof GeneralSecurityException;
        }
        if (tlsProblem) {
            return Reply.of(451, "4.7.5", "TLS with " + host + ":" + config.port() + " failed: " + what);
        }
        if (e instanceof jakarta.mail.AuthenticationFailedException) {
            return Reply.of(451, "4.7.8", "authentication with " + host + ":" + config.port() + " failed: " + oneLine(e.getMessage()));
        }
        String msg = oneLine(e.getMessage());
        if (msg.toLowerCase(java.util.Locale.ROOT).contains("starttls")) {
            return Reply.of(451, "4.7.5", host + ":" + config.port() + ": " + msg);
        }
        return Reply.of(451, "4.4.2", "lost connection with " + host + ":" + config.port() + ": " + what);
    }

    private static String oneLine(String s) {
        return s == null ? "" : Reply.oneLine(s);
    }

    private static DeliveryOutcome all(Envelope envelope, Status status, Reply reply, boolean upstreamSaid,
                                       String relay, long start) {
        List<RecipientOutcome> out = new ArrayList<>();
        for (String r : envelope.forwardPaths()) {
            out.add(new RecipientOutcome(r, status, reply, upstreamSaid));
        }
        return new DeliveryOutcome(relay, out, seconds(start));
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** Write-timeout tasks queued now (each write's, while it is in progress). */
    int pendingWriteTimeouts() {
        return ((ScheduledThreadPoolExecutor) writeTimeouts).getQueue().size();
    }

    @Override
    public void close() {
        closed = true;
        for (ConcurrentLinkedDeque<Pooled> pool : idle.values()) {
            Pooled p;
            while ((p = pool.pollFirst()) != null) {
                closeQuietly(p.transport());
            }
        }
        writeTimeouts.shutdownNow();
    }

    /**
     * A message whose bytes are written by us: Angus gets no chance to parse, re-encode or add
     * headers. {@code ignoreList} (Bcc, Content-Length) is deliberately not applied: the app's
     * MTA has already dealt with Bcc, and a relay passes the message on unchanged.
     */
    static final class RawMessage extends SMTPMessage {
        private final OutboundMessage message;

        RawMessage(Session session, OutboundMessage message) {
            super(session);
            this.message = message;
        }

        @Override
        public void writeTo(OutputStream os, String[] ignoreList) throws IOException {
            message.writeTo(os);
        }

        @Override
        public void writeTo(OutputStream os) throws IOException {
            message.writeTo(os);
        }

        @Override
        public int getSize() {
            return (int) Math.min(Integer.MAX_VALUE, message.size());
        }
    }
}
