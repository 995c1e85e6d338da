package dev.returnpath.cli;

import dev.returnpath.config.ConfigException;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.queue.BounceHistory;
import dev.returnpath.queue.QueueEntry;
import dev.returnpath.queue.Spool;
import dev.returnpath.queue.SpoolDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ScopeType;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code queue list|show ID|flush|delete ID [--config FILE]}: operates the spool of
 * {@code queue.mode = spool}, also while {@code serve} runs.
 *
 * <p>It works on the files, as Postfix's {@code postqueue}/{@code postsuper} do, so that it
 * needs no management port and works when {@code serve} is stopped. An entry is changed only
 * under its lock (the one a delivery attempt holds), and envelopes are replaced by atomic
 * renames, so a running {@code serve} never sees half an edit. {@code flush} leaves a
 * {@code flush} file that {@code serve} picks up within a second (or at its next start) and then
 * tries every entry now. Output goes to stdout only; errors go to stderr. Exit codes: 0 done, 1 no such
 * entry or entry busy, 2 usage, 78 configuration.
 */
@Command(name = "queue", mixinStandardHelpOptions = true,
        description = "Operate the spool (queue.mode = spool): list, show ID, flush, delete ID.",
        subcommands = {QueueCommand.ListCommand.class, QueueCommand.ShowCommand.class,
                QueueCommand.FlushCommand.class, QueueCommand.DeleteCommand.class})
final class QueueCommand implements Runnable {

    @Option(names = "--config", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "Configuration file (default: ${DEFAULT-VALUE}); queue.dir is taken from it, "
                    + "relative to the current directory as for serve.",
            defaultValue = "conf/returnpath.conf")
    Path config;

    /** How long {@code delete} and {@code flush} wait for an entry that is being delivered. */
    static final Duration LOCK_WAIT = Duration.ofSeconds(30);

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                "a queue command is required: list, show ID, flush or delete ID");
    }

    /** Opens the spool named by the configuration, or prints why not and returns empty. */
    static Optional<Spool> spool(Path config, int[] exit) {
        RelayConfig cfg;
        try {
            cfg = ConfigLoader.load(config);
        } catch (ConfigException e) {
            System.err.println("returnpath: configuration error: " + e.getMessage());
            exit[0] = Main.EXIT_CONFIG;
            return Optional.empty();
        }
        Path dir = cfg.queue().dir();
        try {
            return Optional.of(Spool.inspect(dir));
        } catch (IOException e) {
            System.err.println("returnpath: cannot read the spool " + dir + ": " + e.getMessage());
            exit[0] = 1;
            return Optional.empty();
        }
    }

    /** Runs {@code body} on the spool; its return value is the exit code. */
    interface SpoolBody {
        int run(Spool spool, PrintStream out) throws IOException;
    }

    static int withSpool(Path config, SpoolBody body) {
        int[] exit = {0};
        Optional<Spool> s = spool(config, exit);
        if (s.isEmpty()) {
            return exit[0];
        }
        try (Spool spool = s.get()) {
            // UTF-8 whatever the platform says: addresses may be internationalised (RFC 6531)
            // buffered: `queue list` prints 200,000 lines for 100,000 waiting messages
            PrintStream out = new PrintStream(new java.io.BufferedOutputStream(System.out, 1 << 16), false,
                    StandardCharsets.UTF_8);
            int rc = body.run(spool, out);
            out.flush();
            return rc;
        } catch (IOException e) {
            System.err.println("returnpath: " + e.getMessage());
            return 1;
        }
    }

    /** Waits for the entry's lock; empty when it is gone, or still busy after {@link #LOCK_WAIT}. */
    static Optional<Spool.EntryLock> lock(Spool spool, String id, Duration wait) throws IOException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            Optional<Spool.EntryLock> l = spool.tryLock(id);
            if (l.isPresent() || !spool.contains(id) || System.nanoTime() > deadline) {
                return l;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
    }

    // ---------------------------------------------------------------- list

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "One block per spooled message: ID, age, size, attempts, next attempt, sender and "
                    + "return path, then each recipient with its state and last reply.")
    static final class ListCommand implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand
        QueueCommand parent;

        Clock clock = Clock.systemUTC();

        @Override
        public Integer call() {
            return withSpool(parent.config, (spool, out) -> {
                Instant now = clock.instant();
                int[] counts = new int[2]; // messages, recipients to deliver
                // a chunk at a time, rendered on every core and printed in order as each is done:
                // the output streams, and memory stays one chunk's worth
                spool.list(LIST_CHUNK, chunk -> {
                    for (Listed block : chunk.parallelStream().map(l -> block(l, now)).toList()) {
                        out.print(block.text()); // "" when delivered while we looked
                        if (block.unfinished() >= 0) {
                            counts[0]++;
                            counts[1] += block.unfinished();
                        }
                    }
                });
                int messages = counts[0];
                int waiting = counts[1];
                Spool.Corrupt corrupt = spool.corrupt();
                if (!corrupt.isEmpty()) {
                    // what a start found damaged: the messages it could read are listed above,
                    // the rest is only in these files (docs/queue.md says what to do)
                    out.println("-- kept in " + spool.root().resolve("corrupt") + ": "
                            + corrupt.journalSegments() + " damaged journal segment(s), "
                            + corrupt.envelopes() + " message(s) with an unreadable envelope");
                }
                out.println(messages == 0 ? "the spool in " + spool.root().toAbsolutePath() + " is empty"
                        : "-- " + messages + " message(s), " + waiting + " recipient(s) to deliver");
                return 0;
            });
        }
    }

    /** Envelopes read in parallel at a time by {@code queue list}. */
    static final int LIST_CHUNK = 4096;

    /** One entry's lines for {@code queue list}, and its recipients still to deliver (-1: not an entry to count). */
    private record Listed(String text, int unfinished) {
    }

    private static Listed block(Spool.Listing listing, Instant now) {
        if (!listing.problem().isEmpty()) { // names the entry and the problem
            return new Listed(listing.id() + "  (unreadable envelope: " + listing.problem() + ")\n", -1);
        }
        Optional<QueueEntry> read = listing.entry();
        if (read.isEmpty()) {
            return new Listed("", -1);
        }
        QueueEntry e = read.get();
        StringBuilder b = new StringBuilder(256);
        b.append(e.id()).append("  age ").append(age(Duration.between(e.arrival(), now)))
                .append("  size ").append(e.size()).append("  attempts ").append(e.attempts())
                .append("  next ").append(next(e.nextAttempt(), now))
                .append("  from ").append(angle(e.sender())).append("  return-path ").append(angle(e.returnPath()))
                .append('\n');
        for (QueueEntry.Recipient r : e.recipients()) {
            b.append("    ").append(pad(r.state().name().toLowerCase(Locale.ROOT), 8)).append(' ').append(angle(r.address()))
                    .append(r.reply().isEmpty() ? "" : "  " + r.reply())
                    .append(r.relay().isEmpty() ? "" : " (" + r.relay() + ")").append('\n');
        }
        return new Listed(b.toString(), e.unfinished().size());
    }

    // ---------------------------------------------------------------- show

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "The envelope and per-recipient state of one message, the bounce reports read for it "
                    + "from the Return-Path mailbox (also after it left the spool), then its header (and with --body, "
                    + "the whole message as it goes upstream).")
    static final class ShowCommand implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand
        QueueCommand parent;

        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Option(names = "--body", description = "Print the whole message, not only its header.")
        boolean body;

        @Override
        public Integer call() {
            if (!SpoolDirectory.isQueueId(id)) {
                return notAQueueId(id);
            }
            return withSpool(parent.config, (spool, out) -> {
                Optional<QueueEntry> read = spool.read(id);
                List<String> bounces = BounceHistory.read(spool.root(), id);
                if (read.isEmpty()) {
                    if (bounces.isEmpty()) {
                        System.err.println("returnpath: no message " + id + " in the spool");
                        return 1;
                    }
                    // delivered (or returned) and gone; what came back for it afterwards is kept
                    out.println("id: " + id);
                    out.println("in-spool: no (delivered, returned or deleted)");
                    bounces.forEach(b -> out.println("report: " + b));
                    return 0;
                }
                QueueEntry e = read.get();
                out.println("id: " + e.id());
                out.println("arrival: " + e.arrival());
                out.println("client: " + e.client() + (e.helo().isEmpty() ? "" : " (helo " + e.helo() + ")"));
                out.println("sender: " + angle(e.sender()));
                out.println("return-path: " + angle(e.returnPath()));
                out.println("size: " + e.size());
                out.println("attempts: " + e.attempts());
                out.println("next-attempt: " + e.nextAttempt());
                out.println("delay-warning-sent: " + (e.warned() ? "yes" : "no"));
                for (QueueEntry.Recipient r : e.recipients()) {
                    out.println("recipient: " + angle(r.address()) + " " + r.state().name().toLowerCase(Locale.ROOT)
                            + (r.reply().isEmpty() ? "" : ": " + r.reply())
                            + (r.relay().isEmpty() ? "" : " (" + r.relay() + ")"));
                }
                bounces.forEach(b -> out.println("report: " + b));
                out.println();
                try (InputStream in = spool.openMessage(id)) {
                    if (body) {
                        in.transferTo(out);
                    } else {
                        out.write(headerOf(in));
                    }
                } catch (NoSuchFileException gone) {
                    out.println("(the message was delivered or deleted meanwhile)");
                }
                return 0;
            });
        }

        private static byte[] headerOf(InputStream in) throws IOException {
            byte[] buf = in.readNBytes(1 << 20);
            for (int i = 0; i + 3 < buf.length; i++) {
                if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                    return java.util.Arrays.copyOf(buf, i + 2);
                }
            }
            return buf;
        }
    }

    // ---------------------------------------------------------------- flush

    @Command(name = "flush", mixinStandardHelpOptions = true,
            description = "Try every spooled message now, whatever its retry schedule says.")
    static final class FlushCommand implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand
        QueueCommand parent;

        @Override
        public Integer call() {
            return withSpool(parent.config, (spool, out) -> {
                // the flush file alone: serve rescans and schedules every entry now, running or at
                // its next start. No envelope is rewritten (that was an fsync per message: 100,000
                // after a long outage, minutes before the first one went out)
                int scheduled = spool.ids().size();
                spool.requestFlush();
                out.println(scheduled + " message(s) scheduled for delivery now");
                if (!spool.ownedByServe() && scheduled > 0) {
                    out.println("serve is not running on " + spool.root() + ": they are tried when it starts");
                }
                return 0;
            });
        }
    }

    // ---------------------------------------------------------------- delete

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Remove one message from the spool, without delivering it and without a DSN.")
    static final class DeleteCommand implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand
        QueueCommand parent;

        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Option(names = "--wait", paramLabel = "DURATION", defaultValue = "30s",
                description = "How long to wait for a delivery attempt in progress (default: ${DEFAULT-VALUE}).")
        String wait;

        @Override
        public Integer call() {
            if (!SpoolDirectory.isQueueId(id)) {
                return notAQueueId(id);
            }
            Optional<Duration> parsed = duration(wait);
            if (parsed.isEmpty()) {
                System.err.println("returnpath: --wait: not a duration such as 30s, 500ms or 2m: " + wait);
                return Main.EXIT_USAGE;
            }
            Duration w = parsed.get();
            return withSpool(parent.config, (spool, out) -> {
                if (!spool.contains(id)) {
                    System.err.println("returnpath: no message " + id + " in the spool");
                    return 1;
                }
                Optional<Spool.EntryLock> l = lock(spool, id, w);
                if (l.isEmpty()) {
                    if (!spool.contains(id)) {
                        System.err.println("returnpath: " + id + " left the spool meanwhile (delivered or bounced)");
                    } else {
                        System.err.println("returnpath: " + id + " is being delivered; try again");
                    }
                    return 1;
                }
                try (Spool.EntryLock held = l.get()) {
                    if (!spool.remove(id)) {
                        System.err.println("returnpath: no message " + id + " in the spool");
                        return 1;
                    }
                }
                out.println(id + ": deleted");
                return 0;
            });
        }
    }

    /** An ID that cannot name an entry ({@code ../../x}) is a usage error, never a path. */
    static int notAQueueId(String id) {
        System.err.println("returnpath: not a queue ID: \"" + id
                + "\" (queue IDs are letters and digits, as `returnpath queue list` prints them)");
        return Main.EXIT_USAGE;
    }

    // ---------------------------------------------------------------- formatting

    /** 500ms, 30s, 2m, 1h, as in the configuration. */
    static Optional<Duration> duration(String s) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\s*(ms|s|m|h)").matcher(s.trim());
        if (!m.matches()) {
            return Optional.empty();
        }
        long n = Long.parseLong(m.group(1));
        return Optional.of(switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        });
    }

    static String angle(String address) {
        return "<" + address + ">";
    }

    private static String pad(String s, int n) {
        return s.length() >= n ? s : s + " ".repeat(n - s.length());
    }

    /** 45s, 12m, 3h05m, 2d04h: the largest two units. */
    static String age(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return s / 60 + "m";
        }
        // no String.format: queue list prints 100,000 of these
        if (s < 86_400) {
            return s / 3600 + "h" + twoDigits((s % 3600) / 60) + "m";
        }
        return s / 86_400 + "d" + twoDigits((s % 86_400) / 3600) + "h";
    }

    private static String twoDigits(long n) {
        return n < 10 ? "0" + n : Long.toString(n);
    }

    static String next(Instant at, Instant now) {
        return at.isAfter(now) ? "in " + age(Duration.between(now, at)) : "now";
    }
}
