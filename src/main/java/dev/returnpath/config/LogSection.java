package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.LogFormat;

/** {@code returnpath.log}: the layout of the mail log, text (Postfix-like) or JSON lines. */
final class LogSection {
    private LogSection() {}

    static LogFormat parse(ConfigReader r) throws ConfigException {
        return r.enumOf("returnpath.log.format", LogFormat.class);
    }
}
