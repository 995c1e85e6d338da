package dev.returnpath.config;

import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.returnpath.config.RelayConfig.DomainPolicy;
import dev.returnpath.message.Addresses;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code returnpath.rules}: the ordered list checked before the domain map, as Postfix checks
 * its restriction lists, first match wins. Each entry is a {@link Rule}: a {@code match} (globs
 * on the envelope sender, the From and the recipient domains, CIDRs on the client), at most one
 * action ({@code return-path}, {@code reject} or {@code keep}), and the header edits
 * ({@code from-header = align}, {@code strip-headers}).
 *
 * <p>Entries of a list have no Typesafe path, so every error is placed by the value's own origin
 * and named by index ({@code returnpath.rules.1.name}). A rule that would do nothing, strip a
 * field every message needs (RFC 5322 §3.6), or align From to an address it would have to guess
 * is refused here rather than surprising anyone at run time.
 */
final class RulesSection {
    private static final String P = "returnpath.rules";

    /** Keys of one entry of {@code returnpath.rules}. */
    static final Set<String> RULE_KEYS = Set.of("name", "match", "return-path", "fallback", "reject", "keep",
            "from-header", "from-address", "strip-headers");

    /** Keys of a rule's {@code match}. */
    static final Set<String> MATCH_KEYS = Set.of("envelope-sender", "header-from", "client", "recipient-domain",
            "auth-user");

    /** Fields a rule may not strip: RFC 5322 §3.6 requires them in every message. */
    static final Set<String> UNSTRIPPABLE = Set.of("from", "date");

    /** {@code "550 5.7.1 text"}: a reply code and an enhanced code of the same class (RFC 3463). */
    private static final Pattern REPLY = Pattern.compile("([45])(\\d\\d) (([45])\\.\\d{1,3}\\.\\d{1,3}) ?(.*)");

    private RulesSection() {}

    static List<Rule> parse(ConfigReader r, Map<String, DomainPolicy> domains, Optional<HashKey> hashKey)
            throws ConfigException {
        String path = P;
        if (!r.has(path)) {
            return List.of();
        }
        ConfigValue v = r.value(path);
        if (v.valueType() != ConfigValueType.LIST) {
            throw r.error(path, "must be a list such as [ { match { envelope-sender = \"*@*.internal\" }, "
                    + "return-path = \"bounce@example.com\" } ]");
        }
        List<Rule> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        ConfigList list = (ConfigList) v;
        for (int i = 0; i < list.size(); i++) {
            Rule rule = rule(r, path + "." + i, i, list.get(i), domains, hashKey);
            if (!names.add(rule.name())) {
                ConfigObject o = (ConfigObject) list.get(i);
                throw r.at(o.get("name"), path + "." + i + ".name", "\"" + rule.name() + "\" is the name of an earlier rule");
            }
            out.add(rule);
        }
        return List.copyOf(out);
    }

    private static Rule rule(ConfigReader r, String key, int index, ConfigValue value, Map<String, DomainPolicy> domains,
                      Optional<HashKey> hashKey) throws ConfigException {
        if (value.valueType() != ConfigValueType.OBJECT) {
            throw r.at(value, key, "must be an object such as { match { envelope-sender = \"*@*.internal\" }, "
                    + "return-path = \"bounce@example.com\" }");
        }
        ConfigObject o = (ConfigObject) value;
        for (Map.Entry<String, ConfigValue> e : o.entrySet()) {
            if (!RULE_KEYS.contains(e.getKey())) {
                throw r.at(e.getValue(), key + "." + e.getKey(),
                        "unknown key (allowed: " + String.join(", ", new TreeSet<>(RULE_KEYS)) + ")");
            }
        }

        String name = String.valueOf(index);
        if (o.containsKey("name")) {
            name = r.scalar(o.get("name"), key + ".name");
            if (!name.matches("[A-Za-z][A-Za-z0-9._-]{0,63}")) {
                throw r.at(o.get("name"), key + ".name", "\"" + name + "\" must start with a letter and hold only "
                        + "letters, digits, '.', '_' and '-' (at most 64): it appears in log lines as rule=rule:NAME");
            }
        }

        Rule.Match match = new Rule.Match(List.of(), List.of(), List.of(), List.of());
        if (o.containsKey("match")) {
            match = match(r, o.get("match"), key + ".match");
        }

        List<String> actions = new ArrayList<>();
        for (String a : List.of("return-path", "reject", "keep")) {
            if (o.containsKey(a) && !(a.equals("keep") && !r.bool(o.get(a), key + ".keep"))) {
                actions.add(a);
            }
        }
        if (actions.size() > 1) {
            throw r.at(o.get(actions.get(1)), key + "." + actions.get(1), "a rule takes one of return-path, reject "
                    + "and keep = true, not " + String.join(" and ", actions));
        }
        if (o.containsKey("fallback") && !o.containsKey("return-path")) {
            throw r.at(o.get("fallback"), key + ".fallback", "fallback goes with return-path");
        }
        Rule.Action action = new Rule.Action.DomainMap();
        Optional<ReturnPathTemplate> template = Optional.empty();
        if (actions.contains("return-path")) {
            Optional<String> fb = o.containsKey("fallback")
                    ? Optional.of(r.scalar(o.get("fallback"), key + ".fallback")) : Optional.empty();
            String text = r.scalar(o.get("return-path"), key + ".return-path");
            try {
                template = Optional.of(ReturnPathTemplate.parse(text, fb));
            } catch (IllegalArgumentException ex) {
                boolean aboutFallback = ex.getMessage().startsWith("fallback");
                String k = aboutFallback ? "fallback" : "return-path";
                throw r.at(o.get(k), key + "." + k, ex.getMessage());
            }
            if (template.get().usesHash() && hashKey.isEmpty()) {
                throw r.at(o.get("return-path"), key + ".return-path", "\"" + text + "\" uses {hash}, which needs a key: "
                        + "set rewrite.hash-key, e.g. through RETURNPATH_HASH_KEY (at least " + HashKey.MIN_BYTES + " bytes)");
            }
            action = new Rule.Action.SetReturnPath(template.get());
        } else if (actions.contains("reject")) {
            action = rejectAction(r, o.get("reject"), key + ".reject");
        } else if (actions.contains("keep")) {
            action = new Rule.Action.Keep();
        }

        Rule.FromHeaderMode fromHeader = Rule.FromHeaderMode.KEEP;
        if (o.containsKey("from-header")) {
            String fh = r.scalar(o.get("from-header"), key + ".from-header").trim();
            fromHeader = switch (fh.toLowerCase(Locale.ROOT)) {
                case "keep" -> Rule.FromHeaderMode.KEEP;
                case "align" -> Rule.FromHeaderMode.ALIGN;
                default -> throw r.at(o.get("from-header"), key + ".from-header", "must be one of keep | align, got \"" + fh + "\"");
            };
        }
        Optional<String> alignTo = Optional.empty();
        if (o.containsKey("from-address")) {
            ConfigValue fv = o.get("from-address");
            String fa = r.scalar(fv, key + ".from-address").trim();
            if (fromHeader != Rule.FromHeaderMode.ALIGN) {
                throw r.at(fv, key + ".from-address", "is used only with from-header = align");
            }
            if (!Addresses.isValidMailbox(fa)) {
                throw r.at(fv, key + ".from-address", "\"" + fa + "\" is not a valid address (local@domain)");
            }
            if (RelayConfig.lookup(domains, Addresses.domainOf(fa).orElseThrow()).isEmpty()) {
                throw r.at(fv, key + ".from-address", "\"" + fa + "\" is not in a domain listed under returnpath.domains");
            }
            alignTo = Optional.of(fa);
        } else if (fromHeader == Rule.FromHeaderMode.ALIGN) {
            // Which address From becomes, when the rule does not say: the from-address of the
            // domain its return-path is in; else the only from-address there is. Never a guess
            // between several.
            Optional<DomainPolicy> owner = template.flatMap(t -> RelayConfig.lookup(domains, t.domain()));
            List<String> all = domains.values().stream().flatMap(d -> d.fromAddress().stream()).sorted().toList();
            if (owner.isPresent() && owner.get().fromAddress().isPresent()) {
                alignTo = owner.get().fromAddress();
            } else if (owner.isPresent()) {
                throw r.at(o.get("from-header"), key + ".from-header", "align needs an address for From: set from-address "
                        + "in this rule or in domains.\"" + owner.get().domain() + "\"");
            } else if (template.isEmpty() && all.size() == 1) {
                alignTo = Optional.of(all.get(0));
            } else {
                throw r.at(o.get("from-header"), key + ".from-header", "align needs an address for From: set from-address "
                        + "in this rule" + (template.isPresent()
                        ? " (the return-path domain " + template.get().domain() + " is not listed under returnpath.domains)"
                        : all.isEmpty() ? " (no domain has a from-address)"
                        : " (several domains have one: " + String.join(", ", all) + ")"));
            }
        }

        List<String> strip = new ArrayList<>();
        if (o.containsKey("strip-headers")) {
            ConfigValue sv = o.get("strip-headers");
            for (String h : r.stringsOf(sv, key + ".strip-headers")) {
                String n = h.trim();
                if (!n.matches("[!-9;-~]+")) {
                    throw r.at(sv, key + ".strip-headers", "\"" + h + "\" is not a header field name");
                }
                if (UNSTRIPPABLE.contains(n.toLowerCase(Locale.ROOT))) {
                    throw r.at(sv, key + ".strip-headers", n + " cannot be stripped: every message needs one (RFC 5322 section 3.6)"
                            + (n.equalsIgnoreCase("from") ? "; use from-header = align to change it" : ""));
                }
                strip.add(n);
            }
        }
        if (actions.isEmpty() && fromHeader == Rule.FromHeaderMode.KEEP && strip.isEmpty()) {
            throw r.at(value, key, "does nothing: give it return-path, reject, keep = true, from-header = align or strip-headers");
        }
        return new Rule(index, name, match, action, fromHeader, alignTo, List.copyOf(strip));
    }

    private static Rule.Match match(ConfigReader r, ConfigValue value, String key) throws ConfigException {
        if (value.valueType() != ConfigValueType.OBJECT) {
            throw r.at(value, key, "must be an object such as { envelope-sender = \"*@*.internal\", client = \"10.0.0.0/8\" }");
        }
        ConfigObject m = (ConfigObject) value;
        for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
            if (!MATCH_KEYS.contains(e.getKey())) {
                throw r.at(e.getValue(), key + "." + e.getKey(),
                        "unknown key (allowed: " + String.join(", ", new TreeSet<>(MATCH_KEYS)) + ")");
            }
        }
        List<Glob> sender = globs(r, m, "envelope-sender", key);
        List<Glob> from = globs(r, m, "header-from", key);
        List<Glob> rcpt = globs(r, m, "recipient-domain", key);
        List<Cidr> client = new ArrayList<>();
        if (m.containsKey("client")) {
            for (String c : r.stringsOf(m.get("client"), key + ".client")) {
                try {
                    client.add(Cidr.parse(c));
                } catch (IllegalArgumentException ex) {
                    throw r.at(m.get("client"), key + ".client", ex.getMessage());
                }
            }
        }
        List<Glob> authUser = globs(r, m, "auth-user", key);
        return new Rule.Match(sender, from, List.copyOf(client), rcpt, authUser);
    }

    private static List<Glob> globs(ConfigReader r, ConfigObject m, String name, String key) throws ConfigException {
        if (!m.containsKey(name)) {
            return List.of();
        }
        List<Glob> out = new ArrayList<>();
        for (String g : r.stringsOf(m.get(name), key + "." + name)) {
            if (g.chars().anyMatch(c -> c < 0x20 || c == ' ' || c == 0x7f)) {
                throw r.at(m.get(name), key + "." + name, "\"" + g + "\": a pattern has no spaces or control characters");
            }
            out.add(Glob.of(g));
        }
        return List.copyOf(out);
    }

    /** {@code "text"} or {@code "550 5.7.1 text"}: an operator may choose the code, 4xx or 5xx. */
    private static Rule.Action.Reject rejectAction(ConfigReader r, ConfigValue v, String key) throws ConfigException {
        String text = r.scalar(v, key).trim();
        Matcher m = REPLY.matcher(text);
        int code = 550;
        String enhanced = "5.7.1";
        if (m.matches()) {
            if (!m.group(1).equals(m.group(4))) {
                throw r.at(v, key, "the reply code " + m.group(1) + m.group(2) + " and the enhanced code " + m.group(3)
                        + " disagree (both 4 or both 5)");
            }
            code = Integer.parseInt(m.group(1) + m.group(2));
            enhanced = m.group(3);
            text = m.group(5).trim();
        }
        if (text.isEmpty()) {
            throw r.at(v, key, "needs a text for the reply, e.g. reject = \"mail from this application is not accepted\"");
        }
        if (text.length() > 400 || !text.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw r.at(v, key, "the text goes on the SMTP wire: printable ASCII, at most 400 characters");
        }
        return new Rule.Action.Reject(code, enhanced, text);
    }
}
