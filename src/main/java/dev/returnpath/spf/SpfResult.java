package dev.returnpath.spf;

import java.util.Locale;

/** The seven results of {@code check_host()} (RFC 7208 §2.6). */
public enum SpfResult {
    /** §2.6.3: the client is authorized to inject mail with the given identity. */
    PASS,
    /** §2.6.4: the client is explicitly not authorized. */
    FAIL,
    /** §2.6.5: a weak statement that the client is probably not authorized. */
    SOFTFAIL,
    /** §2.6.2: the domain owner states nothing about the client. */
    NEUTRAL,
    /** §2.6.1: no syntactically valid domain, or no SPF record for it. */
    NONE,
    /** §2.6.7: the published records could not be correctly interpreted. */
    PERMERROR,
    /** §2.6.6: a transient (generally DNS) error; a later retry may succeed. */
    TEMPERROR;

    /** The lower-case name used on the wire and in {@code check-spf} output: "pass", "softfail", ... */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
