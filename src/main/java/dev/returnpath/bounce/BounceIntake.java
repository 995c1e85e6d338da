package dev.returnpath.bounce;

import dev.returnpath.config.BouncesSection.After;
import dev.returnpath.config.BouncesSection.Imap;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import dev.returnpath.ops.Metrics;
import jakarta.mail.FetchProfile;
import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.MessageRemovedException;
import jakarta.mail.MessagingException;
import jakarta.mail.Store;
import jakarta.mail.UIDFolder;
import jakarta.mail.search.FlagTerm;
import jakarta.mail.search.NotTerm;
import org.eclipse.angus.mail.imap.AppendUID;
import org.eclipse.angus.mail.imap.IMAPFolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Reads the Return-Path mailbox as reports arrive (IMAP IDLE, RFC 2177, where the server offers
 * it, with a new pass at least every {@code bounces.imap.interval}) or else every
 * {@code interval}: reads each message not yet handled, turns the reports in it into a {@code bounce:} line and
 * {@code returnpath_bounces_total{domain, class}}, and then moves it to {@code move-to}, deletes
 * it, or flags it {@code \Seen} and {@code $ReturnpathDone}. A message that is not a report is
 * read with {@code BODY.PEEK} and left as it was.
 *
 * <p><b>Once.</b> A report is claimed before it is logged. Where the server offers CONDSTORE
 * (Dovecot does) the claim is a conditional {@code STORE} of {@code $ReturnpathClaimed}, which
 * only one of two relays can win; then the message is moved, deleted or flagged. Without
 * CONDSTORE, with {@code after = move}, the claim is the {@code UID MOVE} that got a
 * {@code COPYUID} back (UIDPLUS). A restart finds nothing to redo: moved, expunged or flagged
 * messages are not searched again. A crash between the claim and the line loses that one line;
 * none is logged twice. Without either extension two relays polling at the same instant can
 * both log a report.
 */
public final class BounceIntake implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("returnpath.bounces");
    static final String DONE = "$ReturnpathDone";
    static final String CLAIMED = "$ReturnpathClaimed";
    private static final java.util.regex.Pattern MODSEQ = java.util.regex.Pattern.compile("MODSEQ \\((\\d+)\\)");
    /** RFC 2177 §3: clients should renew IDLE within 29 minutes. */
    private static final Duration MAX_IDLE = Duration.ofMinutes(25);

    public record Poll(int reports, int messages, int ignored) {}

    private final Imap cfg;
    private final Attribution attribution;
    private final Metrics metrics;
    private final Consumer<MailEvent.Bounce> onBounce;
    private volatile boolean stopped;
    private Thread thread;
    private java.util.concurrent.ScheduledExecutorService timer;
    /** Whether the server offers IDLE: null until the first connection says. */
    private volatile Boolean idle;
    /** The folder in IDLE, for {@link #wake}; null when none is. */
    private volatile IMAPFolder idling;
    /** Passes over the folder done by {@link #run}, for tests. */
    final java.util.concurrent.atomic.AtomicInteger passes = new java.util.concurrent.atomic.AtomicInteger();
    // only the intake's thread: the last problem logged (until a pass succeeds), the last quiet
    // reconnect, and the passes of the current connection
    private String lastProblem;
    private long quietRetry = System.nanoTime() - Long.MAX_VALUE / 2;
    private int sessionPasses;

    public BounceIntake(Imap cfg, Attribution attribution, Metrics metrics, Consumer<MailEvent.Bounce> onBounce) {
        this.cfg = cfg;
        this.attribution = attribution;
        this.metrics = metrics;
        this.onBounce = onBounce;
    }

    /**
     * The intake {@code cfg} asks for, if {@code bounces.imap.host} is set; its reports are also
     * noted in {@code queue.dir} ({@link BounceRecords}).
     */
    public static Optional<BounceIntake> forConfig(dev.returnpath.config.RelayConfig cfg, Metrics metrics,
                                                   java.time.Clock clock) {
        boolean spool = cfg.queue().mode() == dev.returnpath.config.RelayConfig.QueueMode.SPOOL;
        return cfg.bouncesImap().map(imap -> new BounceIntake(imap, attributionFor(cfg), metrics,
                new BounceRecords(cfg.queue().dir(), spool, clock)));
    }

    /** Attribution by every return-path template of the configuration, domains' and rules'. */
    public static Attribution attributionFor(dev.returnpath.config.RelayConfig cfg) {
        List<dev.returnpath.config.ReturnPathTemplate> templates = new java.util.ArrayList<>();
        cfg.domains().values().forEach(d -> templates.add(d.template()));
        for (dev.returnpath.config.Rule rule : cfg.rules()) {
            if (rule.action() instanceof dev.returnpath.config.Rule.Action.SetReturnPath s) {
                templates.add(s.returnPath());
            }
        }
        return new Attribution(templates, cfg.rewrite().hashKey());
    }

    public synchronized void start() {
        log.info("bounce intake: reading {} at {} ({}) every {}, then {}; IDLE where the server offers it", cfg.folder(),
                cfg.endpoint(), cfg.tls().name().toLowerCase(Locale.ROOT), cfg.interval(),
                cfg.after().name().toLowerCase(Locale.ROOT));
        thread = Thread.ofPlatform().name("bounce-intake").daemon(true).start(this::run);
    }

    /**
     * Reads the folder, then waits: in IDLE (RFC 2177) on the same connection where the server
     * offers it, until the server says something changed or {@code interval} passed (the safety
     * net: a lost notification delays a report by one interval at most; RFC 2177 asks to renew
     * IDLE within 29 minutes, so it is renewed every 25 at the latest); else by sleeping
     * {@code interval}. A lost connection is reported once per new problem and tried again after
     * {@code interval}.
     */
    private void run() {
        while (!stopped) {
            try {
                if (idle != Boolean.FALSE) {
                    session(); // returns when the server has no IDLE, or on stop
                } else {
                    pollOnce();
                    passes.incrementAndGet();
                    reachable();
                }
            } catch (MessagingException | IOException | RuntimeException e) {
                if (stopped) {
                    return;
                }
                // an IDLE connection that served and then dropped (a server restart, a NAT's
                // timeout): reconnect at once and quietly, at most once per interval
                long now = System.nanoTime();
                if (sessionPasses > 0 && lastProblem == null && now - quietRetry > cfg.interval().toNanos()) {
                    quietRetry = now;
                    log.debug("bounce intake: connection to {} lost ({}); reconnecting", cfg.endpoint(), describe(e));
                    continue;
                }
                String problem = describe(e);
                if (!problem.equals(lastProblem)) {
                    log.warn("bounce intake: cannot read {} at {}: {}", cfg.folder(), cfg.endpoint(), problem);
                    lastProblem = problem;
                }
            }
            if (stopped || idle == Boolean.TRUE && lastProblem == null) {
                continue; // an IDLE session that ended on purpose: start the next one at once
            }
            try {
                Thread.sleep(cfg.interval());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void reachable() {
        if (lastProblem != null) {
            log.info("bounce intake: {} reachable again", cfg.endpoint());
            lastProblem = null;
        }
    }

    /** Whether the intake's thread is in IDLE now (for tests). */
    boolean idling() {
        return idling != null;
    }

    /** One connection: read, IDLE, read again, ... until stopped, or at once without IDLE. */
    private void session() throws MessagingException, IOException {
        sessionPasses = 0;
        Store store = Mailbox.connect(cfg);
        try {
            boolean offered = ((org.eclipse.angus.mail.imap.IMAPStore) store).hasCapability("IDLE");
            if (idle == null) {
                log.info(offered ? "bounce intake: the server offers IDLE: reports are read as they arrive, and the folder "
                        + "again every {}" : "bounce intake: the server does not offer IDLE: the folder is read every {}",
                        cfg.interval());
            }
            idle = offered;
            IMAPFolder folder = (IMAPFolder) store.getFolder(cfg.folder());
            folder.open(Folder.READ_WRITE);
            try {
                Folder target = target(store);
                do {
                    pass(folder, target);
                    if (cfg.after() == After.DELETE) {
                        folder.expunge();
                    }
                    passes.incrementAndGet();
                    sessionPasses++;
                    reachable();
                    if (!offered || stopped) {
                        break;
                    }
                    idleUntilNews(folder);
                } while (!stopped);
            } finally {
                idling = null;
                if (folder.isOpen()) {
                    folder.close(cfg.after() == After.DELETE);
                }
            }
        } finally {
            store.close();
        }
    }

    /** IDLE until the first notification, {@code interval} (at most 25 minutes), or {@link #close}. */
    private void idleUntilNews(IMAPFolder folder) throws MessagingException {
        Duration wait = cfg.interval().compareTo(MAX_IDLE) < 0 ? cfg.interval() : MAX_IDLE;
        idling = folder;
        java.util.concurrent.ScheduledFuture<?> net = timer().schedule(this::wake, wait.toMillis(),
                java.util.concurrent.TimeUnit.MILLISECONDS);
        try {
            if (!stopped) {
                folder.idle(true);
            }
        } finally {
            net.cancel(false);
            idling = null;
        }
    }

    private synchronized java.util.concurrent.ScheduledExecutorService timer() {
        if (timer == null) {
            timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                    Thread.ofPlatform().name("bounce-intake-timer").daemon(true).factory());
        }
        return timer;
    }

    /**
     * Ends the IDLE in progress, if any: a command on the folder from another thread makes Angus
     * Mail send DONE first, and {@code idle} returns when the server has answered it.
     */
    private void wake() {
        IMAPFolder f = idling;
        if (f != null) {
            try {
                f.doCommand(p -> null);
            } catch (MessagingException | RuntimeException e) {
                // the connection is gone: the idling thread sees it too
            }
        }
    }

    /** One pass over the folder on a new connection. */
    public Poll pollOnce() throws MessagingException, IOException {
        Store store = Mailbox.connect(cfg);
        try {
            Folder folder = store.getFolder(cfg.folder());
            folder.open(Folder.READ_WRITE);
            try {
                return pass(folder, target(store));
            } finally {
                folder.close(cfg.after() == After.DELETE);
            }
        } finally {
            store.close();
        }
    }

    /** The {@code move-to} folder, created when missing; null unless {@code after = move}. */
    private Folder target(Store store) throws MessagingException {
        if (cfg.after() != After.MOVE) {
            return null;
        }
        Folder target = store.getFolder(cfg.moveTo());
        // another relay on the mailbox may create it at the same moment: then it exists
        if (!target.exists() && !target.create(Folder.HOLDS_MESSAGES) && !target.exists()) {
            throw new MessagingException("cannot create folder " + cfg.moveTo());
        }
        return target;
    }

    /** Reads every message not yet handled in the open {@code folder}. */
    private Poll pass(Folder folder, Folder target) throws MessagingException, IOException {
        Store store = folder.getStore();
        Message[] pending = folder.search(new jakarta.mail.search.AndTerm(
                new NotTerm(new FlagTerm(new Flags(DONE), true)), new NotTerm(new FlagTerm(new Flags(CLAIMED), true))));
        FetchProfile fp = new FetchProfile();
        fp.add(UIDFolder.FetchProfileItem.UID);
        folder.fetch(pending, fp);
        int reports = 0;
        int messages = 0;
        int ignored = 0;
        for (Message m : pending) {
            if (stopped) {
                break;
            }
            List<Report> found;
            try {
                ByteArrayOutputStream raw = new ByteArrayOutputStream();
                m.writeTo(raw);
                found = ReportParser.parse(raw.toByteArray());
            } catch (MessageRemovedException e) {
                continue; // the other relay took it
            } catch (IOException | MessagingException e) {
                if (!folder.isOpen() || !store.isConnected()) {
                    throw e;
                }
                // moved away by another relay between SEARCH and FETCH, or unreadable now:
                // the next poll sees it again if it is still there
                continue;
            }
            if (found.isEmpty()) {
                ignored++;
                continue;
            }
            if (!claim(folder, m, target)) {
                continue;
            }
            messages++;
            for (Report r : found) {
                report(r);
                reports++;
            }
        }
        return new Poll(reports, messages, ignored);
    }

    /**
     * Takes the message out of the queue of work; false if another relay already did. Where the
     * server offers CONDSTORE (RFC 7162) the claim is a conditional STORE of
     * {@value #CLAIMED}: read the message's MODSEQ and flags, then
     * {@code UID STORE uid (UNCHANGEDSINCE modseq) +FLAGS}; of two relays only one can succeed
     * (the other sees the flag, or gets MODIFIED). The after-action follows.
     */
    private boolean claim(Folder folder, Message m, Folder target) throws MessagingException {
        try {
            IMAPFolder f = (IMAPFolder) folder;
            long uid = f.getUID(m);
            boolean condstore = ((org.eclipse.angus.mail.imap.IMAPStore) folder.getStore()).hasCapability("CONDSTORE");
            Object won = !condstore ? Boolean.TRUE : f.doCommand(p -> {
                org.eclipse.angus.mail.iap.Response[] r = p.command("UID FETCH " + uid + " (MODSEQ FLAGS)", null);
                p.notifyResponseHandlers(r);
                long modseq = -1;
                boolean flagged = false;
                for (org.eclipse.angus.mail.iap.Response x : r) {
                    String line = x.toString();
                    java.util.regex.Matcher mm = MODSEQ.matcher(line);
                    if (!x.isTagged() && mm.find()) {
                        modseq = Long.parseLong(mm.group(1));
                        flagged |= line.contains(CLAIMED);
                    }
                }
                if (modseq < 0 || flagged) {
                    return Boolean.FALSE;
                }
                r = p.command("UID STORE " + uid + " (UNCHANGEDSINCE " + modseq + ") +FLAGS.SILENT (" + CLAIMED + ")", null);
                p.notifyResponseHandlers(r);
                org.eclipse.angus.mail.iap.Response tagged = r[r.length - 1];
                return tagged.isOK() && !tagged.toString().contains("MODIFIED");
            });
            if (!Boolean.TRUE.equals(won)) {
                return false;
            }
            switch (cfg.after()) {
                case MOVE -> {
                    AppendUID[] moved;
                    try {
                        moved = f.moveUIDMessages(new Message[] {m}, target);
                    } catch (IndexOutOfBoundsException gone) {
                        // Angus Mail 2.0.5 indexes an empty COPYUID (GreenMail's answer when
                        // another session expunged the message first): nothing was moved by us
                        moved = null;
                    } catch (MessagingException refused) {
                        // "NO MOVE failed. No such message": another relay moved it between
                        // our FETCH and our MOVE, so the claim is theirs. A message still
                        // here was refused for another reason: that is a failed pass.
                        if (!condstore && f.getMessageByUID(uid) == null) {
                            return false;
                        }
                        throw refused;
                    }
                    if (condstore || (moved != null && moved.length == 1 && moved[0] != null)) {
                        return true; // claimed above, or COPYUID: this relay moved it
                    }
                    // no COPYUID from a UIDPLUS server: the UID was already gone (another relay
                    // moved it first); without UIDPLUS there is no way to tell, the move counts
                    return !((org.eclipse.angus.mail.imap.IMAPStore) folder.getStore()).hasCapability("UIDPLUS");
                }
                case DELETE -> m.setFlags(new Flags(Flags.Flag.DELETED), true);
                case SEEN -> {
                    Flags done = new Flags(Flags.Flag.SEEN);
                    done.add(DONE);
                    m.setFlags(done, true);
                }
            }
            return true;
        } catch (MessageRemovedException e) {
            return false;
        }
    }

    void report(Report r) {
        Attribution.Result a = attribution.attribute(r);
        BounceClass.Verdict v = BounceClass.of(r);
        String originalFrom = a.originalFrom().or(r::originalFrom).orElse("");
        String domain = a.originalFrom().or(r::originalFrom).map(BounceRecords::domainOf).orElse("unknown");
        MailEvent.Bounce e = new MailEvent.Bounce(a.queueId().orElse("-"), originalFrom, r.recipient(), r.action(),
                r.status().isEmpty() ? "-" : r.status(), r.reportingMta().isEmpty() ? "-" : r.reportingMta(),
                v.bounceClass().label(), v.cause(), v.fix(), a.via().name().toLowerCase(Locale.ROOT));
        MailLog.log(e);
        metrics.bounce(domain, v.bounceClass().label());
        onBounce.accept(e);
    }

    /** The exception and its causes in one line, and what to check when it is the certificate. */
    private String describe(Exception e) {
        Throwable t = e;
        String msg = Optional.ofNullable(e.getMessage()).orElse(e.getClass().getSimpleName());
        boolean untrusted = false;
        boolean wrongName = false;
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            untrusted |= c instanceof java.security.cert.CertificateException
                    || c instanceof java.security.cert.CertPathValidatorException;
            wrongName |= c.getMessage() != null && c.getMessage().contains("verify identity of server");
        }
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            if (t.getMessage() != null && !msg.contains(t.getMessage())) { // SSL causes repeat their text
                msg = msg + ": " + t.getMessage();
            }
        }
        if (untrusted) {
            msg = msg + " (the server's certificate does not verify against " + cfg.caFile()
                    .map(f -> "bounces.imap.ca-file " + f).orElse("the JDK's trust store; set bounces.imap.ca-file for a private CA")
                    + ")";
        } else if (wrongName) {
            msg = msg + " (the server's certificate does not name " + cfg.endpoint().host()
                    + ": set bounces.imap.host to a name it has)";
        }
        return msg;
    }

    /** Stops the intake: an IDLE in progress is ended at once, a pass at its next message. */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            stopped = true;
            t = thread;
        }
        if (t != null) {
            t.interrupt(); // a sleep between polls
            long deadline = System.nanoTime() + 5_000_000_000L;
            try {
                // the thread may enter IDLE just after a wake: wake again until it has ended
                while (t.isAlive() && System.nanoTime() < deadline) {
                    wake();
                    t.join(100);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (timer != null) {
                timer.shutdownNow();
            }
        }
    }
}
