package dev.returnpath.spf;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * What {@link SpfGuard#check} decided for one message. The relay maps it to an SMTP reply:
 * {@link Pass} relays; {@link NotPass} goes through {@code spf.on-fail} (451 4.7.26, 550 5.7.26,
 * warn or off); {@link TempError} is always 451 4.4.3.
 */
public sealed interface GuardVerdict permits GuardVerdict.Pass, GuardVerdict.NotPass, GuardVerdict.TempError {

    /** The domain whose SPF record was checked (the reverse-path's domain, or the HELO name). */
    String domain();

    /** The SPF result for the log line ({@code spf=pass}): pass, the failing result, or temperror. */
    SpfResult result();

    /** One line for the SMTP reply and the log. */
    String text();

    /** SPF passes for every outbound IP (an empty list checks nothing and passes). */
    record Pass(List<InetAddress> ips, String domain) implements GuardVerdict {
        public Pass {
            ips = List.copyOf(ips);
            Objects.requireNonNull(domain, "domain");
        }

        @Override
        public SpfResult result() {
            return SpfResult.PASS;
        }

        @Override
        public String text() {
            return "SPF for " + domain + " is pass";
        }
    }

    /**
     * SPF gave something other than pass (fail, softfail, neutral, none or permerror) for
     * {@code ip}. {@code advice} says what SPF said and what to publish, e.g.
     * {@code SPF for example.com is softfail for 203.0.113.5; add "ip4:203.0.113.5" to the SPF record of example.com}.
     */
    record NotPass(SpfResult result, InetAddress ip, String domain, String advice) implements GuardVerdict {
        public NotPass {
            Objects.requireNonNull(result, "result");
            Objects.requireNonNull(ip, "ip");
            Objects.requireNonNull(domain, "domain");
            Objects.requireNonNull(advice, "advice");
        }

        @Override
        public String text() {
            return advice;
        }
    }

    /** A DNS problem (temperror) for {@code ip}: the check may pass later. */
    record TempError(InetAddress ip, String domain, String text) implements GuardVerdict {
        public TempError {
            Objects.requireNonNull(ip, "ip");
            Objects.requireNonNull(domain, "domain");
            Objects.requireNonNull(text, "text");
        }

        @Override
        public SpfResult result() {
            return SpfResult.TEMPERROR;
        }
    }
}
