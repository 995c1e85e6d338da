package dev.returnpath.rewrite;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.ops.Doctor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Which configurations let any allowed client send any From unchecked: a table of rules and settings. */
class UncheckedSendersTest {

    static RelayConfig config(String extra) throws Exception {
        return ConfigLoader.parseString("""
                returnpath {
                  domains { "example.com" { return-path = "bounce@example.com", from-address = "noreply@example.com" } }
                  delivery { mode = smarthost, smarthost { host = "127.0.0.1", port = 2526, tls = none } }
                  %s
                }
                """.formatted(extra), "test.conf");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # configuration                                                                                                   | warnings
            rules = [{ name = "cron", match { envelope-sender = "root@*.internal" }, keep = true }]                            | rewrite.keep-rule rule:cron
            rules = [{ name = "all", keep = true }]                                                                            | rewrite.keep-rule rule:all
            rules = [{ name = "hdr", match { header-from = "*@partner.test" }, keep = true }]                                  | rewrite.keep-rule rule:hdr
            rules = [{ name = "cron", match { envelope-sender = "root@*.internal", client = ["10.0.0.7/32"] }, keep = true }]  |
            rules = [{ name = "cron", match { envelope-sender = "root@*.internal" }, keep = true, from-header = align }]       |
            rules = [{ name = "set", match { envelope-sender = "root@*.internal" }, return-path = "bounce@example.com" }]      |
            rewrite.unknown-domain = keep                                                                                      | rewrite.unknown-domain config
            rewrite.unknown-domain = reject                                                                                    |
            rewrite { unknown-domain = default, default-domain = "example.com" }                                               |
            """)
    void aKeepWithoutAClientConditionAndUnknownDomainKeepAreWarned(String extra, String expected) throws Exception {
        List<UncheckedSenders.Warning> w = UncheckedSenders.of(config(extra));
        assertThat(w).extracting(x -> x.check() + " " + x.subject())
                .containsExactlyElementsOf(expected == null ? List.of() : List.of(expected));
    }

    @Test
    void theWarningNamesTheRuleItsConditionAndTheFix() throws Exception {
        UncheckedSenders.Warning w = UncheckedSenders.of(config(
                "rules = [{ name = \"cron\", match { envelope-sender = \"root@*.internal\" }, keep = true }]")).get(0);
        assertThat(w.line()).isEqualTo("rule:cron: keeps the envelope sender of messages whose envelope-sender "
                + "\"root@*.internal\" match, which the client chooses: any client in listen.allowed-networks can send "
                + "with any From through it, unchecked; add match.client with the hosts that send such mail, or "
                + "from-header = align");
    }

    @Test
    void doctorReportsEachAsAWarn() throws Exception {
        RelayConfig cfg = config("rewrite.unknown-domain = keep\n"
                + "rules = [{ name = \"cron\", match { envelope-sender = \"root@*.internal\" }, keep = true }]");
        List<Doctor.Check> checks = new Doctor(cfg, DnsjavaDns.over(ZoneResolver.of("/doctor/doctor.zone"), Duration.ofSeconds(2)),
                (c, s) -> List.of()).run();
        assertThat(checks).filteredOn(c -> c.check().startsWith("rewrite."))
                .extracting(c -> c.check() + " " + c.subject() + " " + c.status())
                .containsExactly("rewrite.keep-rule rule:cron WARN", "rewrite.unknown-domain config WARN");
    }
}
