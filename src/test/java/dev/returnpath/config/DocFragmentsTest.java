package dev.returnpath.config;

import dev.returnpath.auth.PasswordHash;
import dev.returnpath.dkim.DkimKey;
import dev.returnpath.testkit.TestPki;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Every {@code ```hocon} block of README.md and docs/*.md loads as written: a block that starts
 * with {@code returnpath {} is a whole file and is loaded alone; any other block is added at the
 * end of the shipped {@code conf/returnpath.conf}, as the README tells a new user to do. The files
 * a block names ({@code "/etc/..."}, {@code "/run/..."}) are made in a temporary directory, of the
 * kind its key asks for (a certificate and its key, a users file, a secret, a service account's
 * JSON key, a DKIM key), and every {@code ${?VAR}} or {@code $RETURNPATH_...} the block mentions
 * is set. A block meant only to illustrate, which does not load by itself, is fenced without
 * {@code hocon}.
 */
class DocFragmentsTest {
    private static final Pattern FENCE = Pattern.compile("^(\\s*)```(\\w*)\\s*$");
    private static final Pattern FILE_VALUE = Pattern.compile("([A-Za-z-]+)\\s*=\\s*\"(/[^\"]+)\"");
    private static final Pattern TLS_PAIR = Pattern.compile("cert-file\\s*=\\s*\"(/[^\"]+)\"\\s*,?\\s*key-file\\s*=\\s*\"(/[^\"]+)\"");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{\\?([A-Za-z0-9_]+)}|\\$(RETURNPATH_[A-Z0-9_]+)");

    @TempDir
    static Path dir;

    record Fragment(Path doc, int line, String text) {
        boolean wholeFile() {
            return text.stripLeading().startsWith("returnpath {");
        }

        @Override
        public String toString() {
            return doc + ":" + line;
        }
    }

    static List<Fragment> fragments() throws Exception {
        List<Path> docs = new ArrayList<>();
        docs.add(Path.of("README.md"));
        try (Stream<Path> s = Files.list(Path.of("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        List<Fragment> out = new ArrayList<>();
        for (Path doc : docs) {
            List<String> lines = Files.readAllLines(doc);
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = FENCE.matcher(lines.get(i));
                if (!m.matches()) {
                    continue;
                }
                String indent = m.group(1);
                int start = i + 1;
                StringBuilder body = new StringBuilder();
                for (i++; i < lines.size() && !lines.get(i).strip().startsWith("```"); i++) {
                    String l = lines.get(i);
                    body.append(l.startsWith(indent) ? l.substring(indent.length()) : l).append('\n');
                }
                if (m.group(2).equals("hocon")) {
                    out.add(new Fragment(doc, start, body.toString()));
                }
            }
        }
        return out;
    }

    @Test
    void theDocumentationHasFragmentsToCheck() throws Exception {
        // README's smarthost line and minimal file, and at least one block of each wave-2 page
        assertThat(fragments()).extracting(f -> f.doc().getFileName().toString())
                .contains("README.md", "routes.md", "oauth.md", "listener.md", "bounces.md", "dkim.md", "rules.md");
    }

    @TestFactory
    Stream<DynamicTest> everyHoconBlockLoads() throws Exception {
        String shipped = Files.readString(Path.of("conf/returnpath.conf"));
        return fragments().stream().map(f -> DynamicTest.dynamicTest(f.toString(), () -> {
            Path own = Files.createDirectories(dir.resolve(f.doc().getFileName() + "-" + f.line()));
            Map<String, String> env = new HashMap<>();
            String text = withFiles(f.text(), own);
            Matcher v = VARIABLE.matcher(f.text());
            while (v.find()) {
                env.put(v.group(1) != null ? v.group(1) : v.group(2), "placeholder-value-of-32-characters");
            }
            Path conf = own.resolve("returnpath.conf");
            Path without = own.resolve("without.conf");
            Files.writeString(conf, f.wholeFile() ? text : shipped + "\n" + text);
            Files.writeString(without, f.wholeFile() ? "returnpath { }\n" : shipped);
            try {
                RelayConfig c = ConfigLoader.load(conf, env);
                // the block does something: the configuration differs from the one without it
                assertThat(ConfigDiff.between(ConfigLoader.load(without, env), c).isEmpty())
                        .as(f + " changes the configuration").isFalse();
            } catch (ConfigException e) {
                fail(f + " (" + (f.wholeFile() ? "as a whole file" : "at the end of conf/returnpath.conf")
                        + ") does not load: " + e.getMessage() + "\n" + f.text());
            }
        }));
    }

    /**
     * docs/configuration.md's key table against {@code reference.conf}: every key the reference
     * has (so every key the loader accepts) is a row, with the reference's default in the row's
     * default column, and every row names a key the reference has ({@code domains."D"} and
     * {@code delivery.routes[]} entries are checked by their own parsers).
     */
    @Test
    void theKeyTableOfConfigurationMdIsTheReference() throws Exception {
        Map<String, String> table = new java.util.LinkedHashMap<>(); // key -> default cell
        Pattern row = Pattern.compile("^\\|\\s*(`[^|]+?)\\s*\\|([^|]*)\\|");
        for (String line : Files.readAllLines(Path.of("docs/configuration.md"))) {
            Matcher m = row.matcher(line);
            if (!m.find()) {
                continue;
            }
            String previous = null;
            for (String k : m.group(1).split(",\\s*")) {
                k = k.replace("`", "").strip();
                if (k.startsWith(".") && previous != null) {
                    k = previous.substring(0, previous.lastIndexOf('.')) + k;
                }
                table.put(k, m.group(2));
                previous = k;
            }
        }
        Map<String, com.typesafe.config.ConfigValue> reference = new java.util.TreeMap<>();
        leaves("", com.typesafe.config.ConfigFactory.parseResources("reference.conf")
                .resolve(com.typesafe.config.ConfigResolveOptions.noSystem()).getObject("returnpath"), reference);
        assertThat(table.keySet()).as("keys of docs/configuration.md").containsAll(reference.keySet());
        for (String k : table.keySet()) {
            if (!k.startsWith("domains.") && !k.contains("[]")) {
                assertThat(reference).as("reference.conf has " + k + ", a row of docs/configuration.md").containsKey(k);
            }
        }
        reference.forEach((k, v) -> {
            if (v.valueType() == com.typesafe.config.ConfigValueType.NULL) {
                return; // unset by default: the table says what unset means
            }
            String value = v.render(com.typesafe.config.ConfigRenderOptions.concise()).replaceAll("[\\s\"]", "");
            assertThat(table.get(k).replaceAll("[\\s\"`]", "")).as("the default of " + k + " in docs/configuration.md")
                    .contains(value);
        });
    }

    private static void leaves(String prefix, com.typesafe.config.ConfigObject o,
                               Map<String, com.typesafe.config.ConfigValue> out) {
        o.forEach((k, v) -> {
            String path = prefix + k;
            if (v instanceof com.typesafe.config.ConfigObject child && !child.isEmpty()) {
                leaves(path + ".", child, out);
            } else if (!path.equals("domains")) {
                out.put(path, v);
            }
        });
    }

    /** The block with each absolute path replaced by a file of the right kind under {@code own}. */
    private static String withFiles(String text, Path own) throws Exception {
        Map<String, Path> made = new HashMap<>();
        TestPki pki = null;
        Matcher tls = TLS_PAIR.matcher(text);
        if (tls.find()) { // a listener's certificate and its key: one issued pair
            pki = new TestPki(Files.createDirectories(own.resolve("pki")));
            TestPki.Pair pair = pki.issue("relay", "ec");
            made.put(tls.group(1), pair.cert());
            made.put(tls.group(2), pair.key());
        }
        Matcher m = FILE_VALUE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String key = m.group(1);
            String original = m.group(2);
            Path p = made.get(original);
            if (p == null) {
                p = own.resolve(made.size() + "-" + Path.of(original).getFileName());
                switch (key) {
                    case "key-file" -> // a DKIM key (a listener's key came with its certificate above)
                            Files.writeString(p, DkimKey.pem(DkimKey.generate(DkimKey.Algorithm.RSA_SHA256, 2048).getPrivate()));
                    case "ca-file" -> {
                        if (pki == null) {
                            pki = new TestPki(Files.createDirectories(own.resolve("pki")));
                        }
                        p = pki.caCert;
                    }
                    case "users-file" -> Files.writeString(p, "app:" + PasswordHash.create("a long password".toCharArray(), PasswordHash.MIN_ITERATIONS).text() + "\n");
                    case "service-account-file" -> {
                        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                        g.initialize(2048);
                        String pem = DkimKey.pem(g.generateKeyPair().getPrivate()).replace("\n", "\\n");
                        Files.writeString(p, "{\"type\": \"service_account\", \"client_email\": \"relay@p.iam.gserviceaccount.com\","
                                + " \"private_key\": \"" + pem + "\", \"token_uri\": \"https://oauth2.googleapis.com/token\"}");
                    }
                    case "dir" -> Files.createDirectories(p);
                    case "password-file", "client-secret-file" -> Files.writeString(p, "placeholder-secret\n");
                    default -> throw new AssertionError("a path for " + key + ": teach DocFragmentsTest what file it is");
                }
                made.put(original, p);
            }
            m.appendReplacement(out, Matcher.quoteReplacement(key + " = \"" + p + "\""));
        }
        m.appendTail(out);
        return out.toString();
    }
}
