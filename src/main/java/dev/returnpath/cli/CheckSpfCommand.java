package dev.returnpath.cli;

import com.google.common.net.InetAddresses;
import dev.returnpath.config.Endpoint;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.ops.Json;
import dev.returnpath.spf.SpfEvaluator;
import dev.returnpath.spf.SpfOutcome;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code check-spf}: RFC 7208 evaluations from the command line, like {@code spfquery}.
 *
 * <p><b>Single query</b>: {@code --ip IP --sender ADDR [--helo NAME]} prints one line,
 * {@code RESULT<TAB>EXPLANATION}, or with {@code --json} one object with {@code result},
 * {@code explanation}, {@code ip}, {@code sender}, {@code helo}, {@code domain},
 * {@code ttl-seconds} and {@code detail} (which term matched, or what went wrong). An empty
 * sender ({@code ""} or {@code "<>"}) is the null sender: the HELO identity
 * {@code postmaster@HELO} is checked (RFC 7208 §2.4), so {@code --helo} is then required.
 *
 * <p><b>Batch</b>: {@code --batch FILE} (or {@code -} for stdin) reads lines
 * {@code IP<TAB>SENDER<TAB>HELO} (HELO may be left off with its tab; an empty SENDER is the null
 * sender) and prints one {@code RESULT<TAB>EXPLANATION} line per input line, in input order.
 * Lines are evaluated concurrently on virtual threads (at most {@value #WINDOW} in flight) over
 * one shared DNS cache. A line that cannot be read as a query (wrong number of fields, an IP that
 * is not an address literal) still gets its line, {@code permerror<TAB>}, so that output stays
 * aligned with input, and a message naming the line goes to stderr.
 *
 * <p>{@code RESULT} is one of {@code pass fail softfail neutral none permerror temperror}.
 * {@code EXPLANATION} is given for {@code fail} only (the expanded {@code exp=} text or the
 * default one) and is empty otherwise; tabs and line breaks in it become spaces.
 *
 * <p><b>Exit status</b>: 0 whenever results were printed, whatever they are (the result is the
 * answer, not an error; this differs from {@code spfquery}, whose status encodes the result, and
 * matches {@code rewrite-test}, where a reject is an answer), also when some batch lines were
 * malformed; 2 for a usage error (bad or missing options, an unreadable batch file); 1 for an
 * unexpected internal error. Only results go to stdout; messages go to stderr.
 *
 * <p>DNS: {@code --dns-server HOST[:PORT]} (repeatable; default: the system's resolvers, never
 * /etc/hosts) and {@code --dns-timeout} per query (default 5s), written like {@code 2s} or
 * {@code 500ms}.
 */
@Command(name = "check-spf", mixinStandardHelpOptions = true,
        description = "Evaluate SPF (RFC 7208 check_host) for an IP and a sender, or for a batch of them.")
public final class CheckSpfCommand implements Callable<Integer> {
    static final int WINDOW = 512;

    @Spec
    CommandSpec spec;

    @Option(names = "--ip", paramLabel = "IP", description = "The client IP address (IPv4 or IPv6).")
    String ip;

    @Option(names = "--sender", paramLabel = "ADDR", description = "The MAIL FROM address; \"\" or \"<>\" for the null sender.")
    String sender;

    @Option(names = "--helo", paramLabel = "NAME", description = "The HELO/EHLO name (required for the null sender).")
    String helo;

    @Option(names = "--dns-server", paramLabel = "HOST[:PORT]", description = "DNS server to ask (repeatable); default: the system's resolvers.")
    List<String> dnsServers = new ArrayList<>();

    @Option(names = "--dns-timeout", paramLabel = "DUR", description = "Timeout per DNS query, e.g. 2s or 500ms (default: ${DEFAULT-VALUE}).",
            defaultValue = "5s", converter = DurationConverter.class)
    Duration dnsTimeout;

    @Option(names = "--json", description = "Print the single result as a JSON object.")
    boolean json;

    @Option(names = "--batch", paramLabel = "FILE|-", description = "Read IP<TAB>SENDER<TAB>HELO lines from FILE or stdin (-).")
    String batch;

    /** Runs {@code check-spf} on its own: {@code java -cp returnpath.jar dev.returnpath.cli.CheckSpfCommand ...}. */
    public static void main(String[] args) {
        System.setProperty("returnpath.log.target", "System.err"); // stdout carries results only
        System.exit(new CommandLine(new CheckSpfCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        CommandLine cli = spec.commandLine();
        if (batch != null) {
            if (ip != null || sender != null || helo != null || json) {
                throw new ParameterException(cli, "--batch cannot be combined with --ip, --sender, --helo or --json");
            }
        } else {
            if (ip == null || sender == null) {
                throw new ParameterException(cli, "give --ip and --sender, or --batch FILE|-");
            }
        }
        if (dnsTimeout.isZero() || dnsTimeout.isNegative()) {
            throw new ParameterException(cli, "--dns-timeout must be positive");
        }
        List<Endpoint> servers = new ArrayList<>();
        for (String server : dnsServers) {
            try {
                servers.add(Endpoint.parse(server, 53));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(cli, "--dns-server " + e.getMessage());
            }
        }
        DnsjavaDns dns = DnsjavaDns.create(servers, dnsTimeout);
        SpfEvaluator evaluator = new SpfEvaluator(dns, "unknown", Clock.systemUTC(), SpfEvaluator.DEFAULT_TIME_LIMIT);
        PrintWriter out = cli.getOut();
        return batch != null ? runBatch(cli, evaluator, out) : runSingle(cli, evaluator, out);
    }

    private int runSingle(CommandLine cli, SpfEvaluator evaluator, PrintWriter out) {
        InetAddress address = parseIp(ip);
        if (address == null) {
            throw new ParameterException(cli, "--ip: \"" + ip + "\" is not an IPv4 or IPv6 address");
        }
        String path = nullSender(sender) ? "" : sender.strip();
        if (path.isEmpty() && (helo == null || helo.isBlank())) {
            throw new ParameterException(cli, "--helo is required for the null sender (the HELO identity is checked)");
        }
        String heloName = helo == null ? "" : helo.strip();
        SpfOutcome outcome = evaluator.checkIdentity(address, path, heloName);
        if (json) {
            String domain = path.isEmpty() ? heloName : path.substring(path.lastIndexOf('@') + 1);
            out.println("{\"result\":" + Json.quote(outcome.result().wireName())
                    + ",\"explanation\":" + Json.quote(outcome.explanation())
                    + ",\"ip\":" + Json.quote(ip.strip())
                    + ",\"sender\":" + Json.quote(path.isEmpty() ? "postmaster@" + heloName : path)
                    + ",\"helo\":" + Json.quote(heloName)
                    + ",\"domain\":" + Json.quote(domain)
                    + ",\"ttl-seconds\":" + outcome.ttl().toSeconds()
                    + ",\"detail\":" + Json.quote(outcome.detail()) + "}");
        } else {
            out.println(line(outcome));
        }
        out.flush();
        return 0;
    }

    private int runBatch(CommandLine cli, SpfEvaluator evaluator, PrintWriter out) throws IOException {
        BufferedReader in;
        try {
            in = batch.equals("-")
                    ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                    : Files.newBufferedReader(Path.of(batch), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ParameterException(cli, "--batch: no such file: " + batch);
        } catch (IOException e) {
            throw new ParameterException(cli, "--batch: cannot read " + batch + ": " + e.getMessage());
        }
        PrintWriter err = cli.getErr();
        ArrayDeque<CompletableFuture<String>> pending = new ArrayDeque<>();
        try (in; ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            String text;
            int number = 0;
            while ((text = in.readLine()) != null) {
                number++;
                pending.add(submit(threads, text, number, evaluator, err));
                if (pending.size() >= WINDOW) {
                    out.println(pending.removeFirst().join());
                }
            }
            while (!pending.isEmpty()) {
                out.println(pending.removeFirst().join());
            }
        }
        out.flush();
        return 0;
    }

    private static CompletableFuture<String> submit(ExecutorService threads, String text, int number,
            SpfEvaluator evaluator, PrintWriter err) {
        String[] fields = (text.endsWith("\r") ? text.substring(0, text.length() - 1) : text).split("\t", -1);
        if (fields.length < 2 || fields.length > 3) {
            return malformed(err, number, "expected IP<TAB>SENDER<TAB>HELO, found " + fields.length + " field(s)");
        }
        InetAddress address = parseIp(fields[0]);
        if (address == null) {
            return malformed(err, number, "\"" + fields[0] + "\" is not an IPv4 or IPv6 address");
        }
        String path = nullSender(fields[1]) ? "" : fields[1].strip();
        String heloName = fields.length == 3 ? fields[2].strip() : "";
        return CompletableFuture.supplyAsync(() -> line(evaluator.checkIdentity(address, path, heloName)), threads);
    }

    private static CompletableFuture<String> malformed(PrintWriter err, int number, String why) {
        synchronized (err) {
            err.println("check-spf: batch line " + number + ": " + why);
            err.flush();
        }
        return CompletableFuture.completedFuture("permerror\t");
    }

    static String line(SpfOutcome outcome) {
        return outcome.result().wireName() + "\t" + outcome.explanation().replaceAll("[\\t\\r\\n]", " ");
    }

    private static boolean nullSender(String s) {
        String t = s.strip();
        return t.isEmpty() || t.equals("<>");
    }

    /** An IP address literal, never a name to resolve; null when it is not one. */
    static InetAddress parseIp(String text) {
        String t = text.strip();
        if (t.startsWith("[") && t.endsWith("]")) {
            t = t.substring(1, t.length() - 1);
        }
        if (t.regionMatches(true, 0, "ipv6:", 0, 5)) {
            t = t.substring(5);
        }
        return InetAddresses.isInetAddress(t) ? InetAddresses.forString(t) : null;
    }

    /** Durations as {@code 500ms}, {@code 2s}, {@code 1m}, {@code 1h}, or ISO-8601 ({@code PT2S}). */
    public static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        private static final Pattern SIMPLE = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

        @Override
        public Duration convert(String value) {
            String v = value.strip().toLowerCase(Locale.ROOT);
            Matcher m = SIMPLE.matcher(v);
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                return switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    default -> Duration.ofHours(n);
                };
            }
            try {
                return Duration.parse(value.strip());
            } catch (RuntimeException e) {
                throw new CommandLine.TypeConversionException("\"" + value + "\" is not a duration such as 2s or 500ms");
            }
        }
    }
}
