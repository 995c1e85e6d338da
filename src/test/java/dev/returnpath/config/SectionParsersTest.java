package dev.returnpath.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each section parser alone, on one setting over reference.conf: what it yields, or the error
 * with its line (line 1 here) and key; an error about a default the file did not write has no line.
 */
class SectionParsersTest {

    interface Section {
        String parse(ConfigReader r) throws ConfigException;
    }

    /** The section's result rendered by {@code render}, or "error: " + the message without the file. */
    static String run(String setting, Section render) {
        try {
            return render.parse(ConfigLoader.reader(setting, "test.conf", Map.of()));
        } catch (ConfigException e) {
            assertThat(e.file()).isEqualTo("test.conf");
            assertThat(e.getMessage()).startsWith(e.line() > 0 ? "test.conf:" + e.line() + ": " : "test.conf: ");
            return "error: " + (e.line() > 0 ? "line " + e.line() + ": " : "") + e.key() + ": " + e.problem();
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # setting                                      => listener binds, or the error
            returnpath.listen.port = 2526                  => 127.0.0.1:2526
            returnpath.listen.host = "[::1]"               => [::1]:2525
            returnpath.listen.host = "::"                  => [::]:2525
            returnpath.listen.host = "0.0.0.0"             => 0.0.0.0:2525
            returnpath.listen.host = "localhost"           => localhost:2525
            returnpath.listen.port = 0                     => 127.0.0.1:0
            returnpath.listen.host = "127.0.0.1:2526"      => error: line 1: returnpath.listen.host: "127.0.0.1:2526" has a port: write host = "127.0.0.1" and listen.port = 2526
            returnpath.listen.port = 65536                 => error: line 1: returnpath.listen.port: must be between 0 and 65535, got 65536
            returnpath.listen.idle-timeout = 5ms           => error: line 1: returnpath.listen.idle-timeout: must be between 1s and 1h, got 5ms
            returnpath.listen.idle-timeout = 2h            => error: line 1: returnpath.listen.idle-timeout: must be between 1s and 1h, got 2h
            returnpath.listen.max-message-size = 1000      => error: line 1: returnpath.listen.max-message-size: must be between 1024 and 2147483647 bytes, got 1000
            returnpath.listen.max-recipients = 0           => error: line 1: returnpath.listen.max-recipients: must be between 1 and 100000, got 0
            """)
    void listen(String setting, String expected) {
        assertThat(run(setting, r -> ListenSection.parse(r).endpoint().toString())).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # setting                                                        => servers, or the error
            returnpath.dns.servers = []                                      => ``
            returnpath.dns.servers = ["127.0.0.1"]                           => 127.0.0.1:53
            returnpath.dns.servers = ["127.0.0.1:5353", "[::1]:5353", "::1"] => 127.0.0.1:5353 [::1]:5353 [::1]:53
            returnpath.dns.servers = ["ns1.example.net:5300"]                => ns1.example.net:5300
            returnpath.dns.servers = ["[::1"]                                => error: line 1: returnpath.dns.servers: "[::1": unclosed [
            returnpath.dns.servers = ["127.0.0.1:0"]                         => error: line 1: returnpath.dns.servers: "127.0.0.1:0": port must be 1-65535
            returnpath.dns.servers = "127.0.0.1"                             => error: line 1: returnpath.dns.servers: must be a list of strings such as ["a", "b"]
            returnpath.dns.timeout = 10ms                                    => error: line 1: returnpath.dns.timeout: must be between 50ms and 1m, got 10ms
            """)
    void dns(String setting, String expected) {
        assertThat(run(setting, r -> DnsSection.parse(r).servers().stream().map(Endpoint::toString)
                .collect(Collectors.joining(" ")))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # setting                                                                   => host() port() endpoint, or the error
            returnpath.delivery.smarthost { host = "smtp.example.net" }                 => smtp.example.net 587 smtp.example.net:587
            returnpath.delivery.smarthost { host = "smtp.example.net", port = 2525 }    => smtp.example.net 2525 smtp.example.net:2525
            returnpath.delivery.smarthost { host = "[2001:db8::25]", port = 25 }        => 2001:db8::25 25 [2001:db8::25]:25
            returnpath.delivery.smarthost { host = "2001:db8::25" }                     => 2001:db8::25 587 [2001:db8::25]:587
            returnpath.delivery.smarthost { host = "[10.0.0.25]" }                      => 10.0.0.25 587 10.0.0.25:587
            returnpath.delivery.smarthost { port = 2525 }                               => none 587 none
            returnpath.delivery.smarthost { host = "smtp.example.net:2525" }            => error: line 1: returnpath.delivery.smarthost.host: "smtp.example.net:2525" has a port: write host = "smtp.example.net" and delivery.smarthost.port = 2525
            returnpath.delivery { mode = smarthost }                                    => error: returnpath.delivery.smarthost.host: required when delivery.mode = smarthost
            returnpath.delivery.smarthost { host = "x.example", username = "u" }        => error: line 1: returnpath.delivery.smarthost.username: username and password go together (set both, e.g. through RETURNPATH_SMARTHOST_USERNAME and RETURNPATH_SMARTHOST_PASSWORD)
            returnpath.delivery.connect-timeout = 50ms                                  => error: line 1: returnpath.delivery.connect-timeout: must be between 100ms and 10m, got 50ms
            returnpath.delivery.command-timeout = 90m                                   => error: line 1: returnpath.delivery.command-timeout: must be between 100ms and 1h, got 90m
            returnpath.delivery.direct { tls = dane }                                   => error: line 1: returnpath.delivery.direct.tls: must be one of opportunistic | required | none, got "dane"
            """)
    void deliverySmarthost(String setting, String expected) {
        assertThat(run(setting, r -> {
            RelayConfig.Smarthost s = DeliverySection.parse(r).smarthost();
            return s.host().orElse("none") + " " + s.port() + " " + s.endpoint().map(Endpoint::toString).orElse("none");
        })).isEqualTo(expected);
    }

    /** The one smarthost parser under another prefix (a route's block): its errors name that block's keys. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # setting under returnpath.x.smarthost                                  => endpoint tls user, or the error
            { host = "smtp.example.net", port = 2525, tls = implicit }              => smtp.example.net:2525 IMPLICIT -
            { host = "smtp.example.net", port = 587, tls = starttls, username = "u", password = "p" } => smtp.example.net:587 STARTTLS u
            { host = "smtp.example.net:2525", port = 587, tls = starttls }          => error: line 1: returnpath.x.smarthost.host: "smtp.example.net:2525" has a port: write host = "smtp.example.net" and x.smarthost.port = 2525
            { port = 587, tls = starttls }                                          => error: returnpath.x.smarthost.host: a route needs a host
            { host = "smtp.example.net", port = 587, tls = starttls, password = "p" } => error: line 1: returnpath.x.smarthost.password: username and password go together
            { host = "smtp.example.net", port = 587, tls = none, username = "u", password = "p" } => error: line 1: returnpath.x.smarthost.tls: AUTH would send the password in clear text: use starttls or implicit with a username
            { host = "smtp.example.net", port = 0, tls = starttls }                 => error: line 1: returnpath.x.smarthost.port: must be between 1 and 65535, got 0
            """)
    void smarthostUnderAnotherPrefix(String block, String expected) {
        assertThat(run("returnpath.x.smarthost " + block, r -> {
            RelayConfig.Smarthost s = DeliverySection.smarthost(r, "returnpath.x.smarthost.", java.util.Optional.of("a route needs a host"), "");
            return s.endpoint().map(Endpoint::toString).orElse("none") + " " + s.tls() + " " + s.username().orElse("-");
        })).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # setting                                                   => mode dir first-retry max-age, or the error
            returnpath.queue.mode = spool                               => SPOOL spool PT5M PT120H
            returnpath.queue { dir = "/var/spool/returnpath" }          => PASSTHROUGH /var/spool/returnpath PT5M PT120H
            returnpath.queue { first-retry = 2h }                       => error: returnpath.queue.max-retry-interval: must not be shorter than queue.first-retry (2h)
            returnpath.queue { delay-warning = 5d }                     => error: line 1: returnpath.queue.delay-warning: must be shorter than queue.max-age (5d), or 0 for off
            returnpath.queue { max-age = 30s }                          => error: line 1: returnpath.queue.max-age: must be between 1m and 60d, got 30s
            returnpath.queue { dir = " " }                              => error: line 1: returnpath.queue.dir: must not be empty
            returnpath.queue { max-concurrency = 0 }                    => error: line 1: returnpath.queue.max-concurrency: must be between 1 and 10000, got 0
            """)
    void queue(String setting, String expected) {
        assertThat(run(setting, r -> {
            RelayConfig.Queue q = QueueSection.parse(r);
            return q.mode() + " " + q.dir() + " " + q.firstRetry() + " " + q.maxAge();
        })).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # setting                                           => management binds, or the error
            returnpath.management.port = 0                      => 127.0.0.1:0
            returnpath.management.host = "[::1]"                => [::1]:8025
            returnpath.management.host = "0.0.0.0"              => 0.0.0.0:8025
            returnpath.management.host = "0.0.0.0:9000"         => error: line 1: returnpath.management.host: "0.0.0.0:9000" has a port: write host = "0.0.0.0" and management.port = 9000
            returnpath.management.port = -1                     => error: line 1: returnpath.management.port: must be between 0 and 65535, got -1
            """)
    void management(String setting, String expected) {
        assertThat(run(setting, r -> ManagementSection.parse(r).endpoint().toString())).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # setting                                                     => outbound IPs and on-fail, or the error
            returnpath.spf.on-fail = warn                                 => [] WARN
            returnpath.spf.outbound-ips = ["203.0.113.5", "2001:db8::5"]  => [/203.0.113.5, /2001:db8:0:0:0:0:0:5] TEMPFAIL
            returnpath.spf.outbound-ips = ["mail.example.com"]            => error: line 1: returnpath.spf.outbound-ips: "mail.example.com" is not an IP address
            returnpath.spf.on-fail = never                                => error: line 1: returnpath.spf.on-fail: must be one of tempfail | reject | warn | off, got "never"
            """)
    void spf(String setting, String expected) {
        assertThat(run(setting, r -> {
            RelayConfig.Spf s = SpfSection.parse(r);
            return s.outboundIps() + " " + s.onFail();
        })).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # setting                                                                  => unknown-domain default-domain hash-key, or the error
            returnpath.rewrite.unknown-domain = keep                                   => KEEP none none
            returnpath.rewrite { hash-key = "0123456789abcdef" }                       => REJECT none set
            returnpath.rewrite { unknown-domain = default, default-domain = "Example.COM." } => DEFAULT example.com none
            returnpath.rewrite { unknown-domain = default, default-domain = "example.org" } => error: line 1: returnpath.rewrite.default-domain: "example.org" is not listed under returnpath.domains
            returnpath.rewrite { default-domain = "not a domain" }                     => error: line 1: returnpath.rewrite.default-domain: "not a domain" is not a domain name
            returnpath.rewrite { hash-key = "short" }                                  => error: line 1: returnpath.rewrite.hash-key: too short: at least 16 bytes (e.g. openssl rand -base64 24)
            """)
    void rewrite(String setting, String expected) {
        Map<String, RelayConfig.DomainPolicy> domains = Map.of("example.com", new RelayConfig.DomainPolicy("example.com",
                ReturnPathTemplate.parse("bounce@example.com", java.util.Optional.empty()), false,
                RelayConfig.Alignment.RELAXED, java.util.Optional.empty(), java.util.Optional.empty()));
        assertThat(run(setting, r -> {
            RelayConfig.Rewrite w = RewriteSection.parse(r, domains, RewriteSection.hashKey(r));
            return w.unknownDomain() + " " + w.defaultDomain().orElse("none") + " " + (w.hashKey().isPresent() ? "set" : "none");
        })).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # setting                                     => log format, or the error
            returnpath.log.format = json                  => JSON
            returnpath.log.format = TEXT                  => TEXT
            returnpath.log.format = syslog                => error: line 1: returnpath.log.format: must be one of text | json, got "syslog"
            """)
    void log(String setting, String expected) {
        assertThat(run(setting, r -> LogSection.parse(r).toString())).isEqualTo(expected);
    }

    @Test
    void theDomainsSectionKeysItsMapInALabelFormAndRefusesADomainListedTwice() throws Exception {
        assertThat(DomainsSection.parse(ConfigLoader.reader("""
                returnpath.domains { "Bücher.Example" { return-path = "bounce@xn--bcher-kva.example" } }
                """, "test.conf", Map.of()), java.util.Optional.empty())).containsOnlyKeys("xn--bcher-kva.example");
        assertThat(run("""
                returnpath.domains { "example.com" { return-path = "a@example.com" }, "EXAMPLE.com" { return-path = "b@example.com" } }
                """, r -> DomainsSection.parse(r, java.util.Optional.empty()).toString()))
                .matches("error: line 1: returnpath\\.domains\\.\"(example|EXAMPLE)\\.com\": domain \"example\\.com\" is listed twice");
    }
}
