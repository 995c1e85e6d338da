package dev.returnpath.cli;

import dev.returnpath.config.Cidr;
import dev.returnpath.config.ConfigException;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Router;
import dev.returnpath.message.Addresses;
import dev.returnpath.message.FromHeader;
import dev.returnpath.message.HeaderBlock;
import dev.returnpath.rewrite.HeaderEdits;
import dev.returnpath.rewrite.RewriteDecision;
import dev.returnpath.cleanup.Cleanup;
import dev.returnpath.ops.Json;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.time.ZonedDateTime;

/**
 * {@code rewrite-test}: what the rules of a configuration do with one message, without sending
 * anything. It runs the same cleanup as {@code serve} ({@link Cleanup#plan}: the rewrite
 * decision, our Received line, the app's Return-Path removed; not the SPF guard, which needs
 * DNS) on an envelope and a header block made from the options, and prints the decision, the
 * return-path and the From that would go out, what decided and why, why the rules before it
 * did not match, and the header section that would leave. A reject is an answer (exit 0); a configuration that does not load exits 78.
 */
@Command(name = "rewrite-test", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Explain what the rewrite rules do with a message, without sending anything.")
final class RewriteTestCommand implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE", defaultValue = "conf/returnpath.conf",
            description = "Configuration file (default: ${DEFAULT-VALUE}).")
    Path config;

    @Option(names = "--mail-from", required = true, paramLabel = "ADDR",
            description = "The envelope sender (MAIL FROM). '<>' or '' is the null sender.")
    String mailFrom;

    @Option(names = "--from", required = true, paramLabel = "ADDR",
            description = "The header From as the app writes it, e.g. 'Jane Doe <jane@gmail.com>'; '' for none.")
    String from;

    @Option(names = "--client", paramLabel = "IP", defaultValue = "127.0.0.1",
            description = "The client's address (default: ${DEFAULT-VALUE}).")
    String client;

    @Option(names = "--rcpt", paramLabel = "ADDR", description = "A recipient (repeatable).")
    List<String> recipients = new ArrayList<>();

    @Option(names = "--header", paramLabel = "'NAME: VALUE'",
            description = "Another header field of the message, e.g. 'Reply-To: desk@example.com' (repeatable).")
    List<String> headers = new ArrayList<>();

    @Option(names = "--show-headers", description = "Also print the header section that would leave, field by field.")
    boolean showHeaders;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        String reversePath = envelopeAddress(mailFrom, "--mail-from", true);
        List<String> forwardPaths = new ArrayList<>();
        for (String r : recipients) {
            forwardPaths.add(envelopeAddress(r, "--rcpt", false));
        }
        InetAddress clientAddress = clientAddress();
        HeaderBlock block = headerBlock();

        RelayConfig cfg;
        try {
            cfg = ConfigLoader.load(config);
        } catch (ConfigException e) {
            spec.commandLine().getErr().println("returnpath: configuration error: " + e.getMessage());
            spec.commandLine().getErr().flush();
            return Main.EXIT_CONFIG;
        }
        // the same cleanup as serve, without the SPF guard: what would leave, byte for byte
        Cleanup.Plan plan = Cleanup.plan(cfg, "REWRITETEST", clientAddress, "rewrite-test", reversePath, forwardPaths,
                block, ZonedDateTime.now());
        Map<String, Object> out = explain(reversePath, block, plan, cfg.delivery());
        if (!showHeaders) {
            out.remove("headers-out");
        }
        PrintWriter w = spec.commandLine().getOut();
        w.println(json ? Json.write(out) : text(out, showHeaders));
        w.flush();
        return 0;
    }

    private String envelopeAddress(String value, String option, boolean nullAllowed) {
        String a = value.trim();
        if (a.startsWith("<") && a.endsWith(">")) {
            a = a.substring(1, a.length() - 1).trim();
        }
        if (a.isEmpty() && nullAllowed) {
            return "";
        }
        if (!Addresses.isValidMailbox(a)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    option + ": \"" + value + "\" is not an address (local@domain" + (nullAllowed ? ", or <> for the null sender)" : ")"));
        }
        return a;
    }

    private InetAddress clientAddress() {
        String c = client.trim();
        if (!Cidr.isIpLiteral(c)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--client: \"" + client + "\" is not an IP address");
        }
        try {
            return InetAddress.getByName(c); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--client: \"" + client + "\" is not an IP address");
        }
    }

    private HeaderBlock headerBlock() {
        StringBuilder b = new StringBuilder();
        if (!from.isBlank()) {
            b.append("From: ").append(from.strip()).append("\r\n");
        }
        for (String h : headers) {
            int colon = h.indexOf(':');
            if (colon <= 0 || !h.substring(0, colon).matches("[!-9;-~]+") || h.contains("\r") || h.contains("\n")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--header: \"" + h + "\" is not NAME: VALUE");
            }
            b.append(h.strip()).append("\r\n");
        }
        return HeaderBlock.parse(b.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The answer as an ordered map: the JSON object, and the lines of the text form. */
    static Map<String, Object> explain(String reversePath, HeaderBlock in, Cleanup.Plan plan, RelayConfig.Delivery delivery) {
        RewriteDecision d = plan.decision();
        Map<String, Object> o = new LinkedHashMap<>();
        Optional<HeaderEdits> edits = switch (d) {
            case RewriteDecision.Rewrite r -> Optional.of(r.headers());
            case RewriteDecision.Keep k -> Optional.of(k.headers());
            case RewriteDecision.Reject r -> Optional.empty();
        };
        o.put("decision", switch (d) {
            case RewriteDecision.Rewrite r -> "rewrite";
            case RewriteDecision.Keep k -> "keep";
            case RewriteDecision.Reject r -> "reject";
        });
        o.put("return-path", switch (d) {
            case RewriteDecision.Rewrite r -> angle(r.reversePath());
            case RewriteDecision.Keep k -> angle(reversePath);
            case RewriteDecision.Reject r -> null;
        });
        if (!delivery.routes().isEmpty() && !(d instanceof RewriteDecision.Reject)) {
            String leaves = switch (d) {
                case RewriteDecision.Rewrite r -> r.reversePath();
                default -> reversePath;
            };
            route(o, delivery, leaves);
        }
        o.put("from", edits.map(e -> fromValue(e.headers())).orElse(null));
        o.put("rule", d.rule());
        o.put("reason", d.reason());
        if (d instanceof RewriteDecision.Reject r) {
            o.put("reply", r.code() + " " + r.enhanced() + " " + r.text());
        }
        o.put("mail-from", angle(reversePath));
        o.put("header-from", fromValue(in));
        o.put("reply-to", edits.flatMap(HeaderEdits::replyTo).orElse(null));
        List<String> changes = new ArrayList<>(edits.map(HeaderEdits::changes).orElse(List.of()));
        if (!(d instanceof RewriteDecision.Reject) && plan.returnPathRemoved()) {
            changes.add("removed the Return-Path field (the receiving server writes its own)");
        }
        for (String added : plan.headersAdded()) {
            changes.add(added.equals("date") ? "added a Date field (the message had none; RFC 5322 requires one)"
                    : "added a Message-ID field (the message had none; Gmail refuses such mail)");
        }
        o.put("header-changes", changes);
        List<Object> misses = new ArrayList<>();
        for (RewriteDecision.Miss m : d.trace().notMatched()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("rule", m.what());
            x.put("why", m.why());
            misses.add(x);
        }
        o.put("not-matched", misses);
        List<String> warnings = new ArrayList<>(d.trace().fallbacks().stream().map(Object::toString).toList());
        warnings.addAll(d.trace().notes());
        o.put("warnings", warnings);
        List<String> leaves = new ArrayList<>();
        if (!(d instanceof RewriteDecision.Reject)) {
            for (HeaderBlock.Field f : HeaderBlock.parse(plan.outgoingHeader()).fields()) {
                leaves.add(f.name() + ": " + f.value());
            }
        }
        o.put("headers-out", leaves);
        return o;
    }

    /**
     * The route the message would take ({@code delivery.routes}, chosen by the envelope sender
     * that leaves), and where it goes: {@code route}, {@code route-via}, {@code route-why}.
     */
    private static void route(Map<String, Object> o, RelayConfig.Delivery delivery, String reversePath) {
        Optional<RelayConfig.Route> r = Router.routeOf(delivery, reversePath);
        RelayConfig.DeliveryMode mode = r.map(RelayConfig.Route::mode).orElse(delivery.mode());
        RelayConfig.Smarthost sm = r.flatMap(RelayConfig.Route::smarthost).orElse(delivery.smarthost());
        o.put("route", r.map(RelayConfig.Route::name).orElse(Router.DEFAULT_ROUTE));
        o.put("route-via", mode == RelayConfig.DeliveryMode.DIRECT ? "direct to each recipient domain's MX"
                : "smarthost " + sm.endpoint().map(Object::toString).orElse("(delivery.smarthost.host is not set)"));
        String domain = Addresses.domainOf(reversePath).orElse("");
        o.put("route-why", r.isPresent()
                ? "sender domain " + domain + " is in its sender-domains " + r.get().senderDomains()
                : reversePath.isEmpty() ? "the null sender (a DSN) takes the default route"
                : "no route's sender-domains holds " + domain);
    }

    /** An envelope address for the output: as it is, and {@code <>} for the null sender. */
    private static String angle(String address) {
        return address.isEmpty() ? "<>" : address;
    }

    private static String bracketed(String address) {
        return address.equals("<>") ? address : "<" + address + ">";
    }

    /** The From value (unfolded); several From fields are joined; null when there is none. */
    private static String fromValue(HeaderBlock h) {
        List<HeaderBlock.Field> f = h.all("From");
        if (f.isEmpty()) {
            return null;
        }
        return String.join(", ", f.stream().map(HeaderBlock.Field::value).toList());
    }

    @SuppressWarnings("unchecked")
    static String text(Map<String, Object> o, boolean showHeaders) {
        StringBuilder b = new StringBuilder();
        line(b, "decision", String.valueOf(o.get("decision")));
        if (o.containsKey("reply")) {
            line(b, "reply", (String) o.get("reply"));
        }
        String rp = (String) o.get("return-path");
        String mailFrom = (String) o.get("mail-from");
        if (rp != null) {
            line(b, "return-path", bracketed(rp) + (rp.equals(mailFrom) ? " (unchanged)" : "  (was " + bracketed(mailFrom) + ")"));
        }
        String from = (String) o.get("from");
        String was = (String) o.get("header-from");
        if (!"reject".equals(o.get("decision"))) {
            line(b, "from", from == null ? "(none)" : from + (java.util.Objects.equals(from, was) ? " (unchanged)" : "  (was " + (was == null ? "none" : was) + ")"));
        }
        if (o.get("reply-to") != null) {
            line(b, "reply-to", o.get("reply-to") + " (added)");
        }
        if (o.containsKey("route")) {
            line(b, "route", o.get("route") + ": " + o.get("route-via") + " (" + o.get("route-why") + ")");
        }
        line(b, "rule", String.valueOf(o.get("rule")));
        line(b, "reason", String.valueOf(o.get("reason")));
        for (String c : (List<String>) o.get("header-changes")) {
            if (!c.startsWith("From: ") && !c.startsWith("Reply-To: ")) { // shown above
                line(b, "header", c);
            }
        }
        for (Map<String, Object> m : (List<Map<String, Object>>) o.get("not-matched")) {
            line(b, "not matched", m.get("rule") + ": " + m.get("why"));
        }
        for (String w : (List<String>) o.get("warnings")) {
            line(b, "warning", w);
        }
        if (showHeaders) {
            for (String h : (List<String>) o.getOrDefault("headers-out", List.of())) {
                line(b, "leaves", h);
            }
        }
        return b.toString().stripTrailing();
    }

    private static void line(StringBuilder b, String key, String value) {
        b.append(String.format("%-12s %s%n", key, value));
    }
}
