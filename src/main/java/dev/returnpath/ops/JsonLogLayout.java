package dev.returnpath.ops;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.LayoutBase;

import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code log.format = json}: one JSON object per line. A mail log line
 * ({@code ID: key=value ...}) becomes an object with the same keys as the text line, plus
 * {@code id}; the text in parentheses after {@code status=} becomes {@code reply}. Other lines
 * keep their text in {@code message}.
 */
public final class JsonLogLayout extends LayoutBase<ILoggingEvent> {
    private static final Pattern MAIL_LINE = Pattern.compile("^([0-9A-F]{8,16}): (.*)$", Pattern.DOTALL);
    private static final Pattern PAIR = Pattern.compile("([a-z][a-z0-9-]*)=(\"[^\"]*\"|<[^>]*>|\\S+)( \\(((?:[^()]|\\([^()]*\\))*)\\))?");

    @Override
    public String doLayout(ILoggingEvent e) {
        StringBuilder b = new StringBuilder(256);
        b.append("{\"time\":").append(Json.quote(Instant.ofEpochMilli(e.getTimeStamp()).toString()))
                .append(",\"level\":").append(Json.quote(e.getLevel().toString()))
                .append(",\"logger\":").append(Json.quote(e.getLoggerName()));
        String msg = e.getFormattedMessage();
        Matcher m = MAIL_LINE.matcher(msg);
        if (m.matches() && m.group(2).contains("=")) {
            b.append(",\"id\":").append(Json.quote(m.group(1)));
            Matcher p = PAIR.matcher(m.group(2));
            while (p.find()) {
                String v = p.group(2);
                if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                    v = v.substring(1, v.length() - 1);
                }
                b.append(',').append(Json.quote(p.group(1))).append(':').append(Json.quote(v));
                if (p.group(4) != null) {
                    b.append(",\"reply\":").append(Json.quote(p.group(4)));
                }
            }
        } else {
            b.append(",\"message\":").append(Json.quote(msg));
        }
        if (e.getThrowableProxy() != null) {
            b.append(",\"error\":").append(Json.quote(e.getThrowableProxy().getClassName() + ": " + e.getThrowableProxy().getMessage()));
        }
        return b.append("}\n").toString();
    }

    /** Switches the console appender of logback's root logger to this layout. */
    public static void install() {
        if (!(org.slf4j.LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx)) {
            return;
        }
        var root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        var appender = root.getAppender("CONSOLE");
        if (!(appender instanceof ch.qos.logback.core.OutputStreamAppender<ILoggingEvent> out)) {
            return;
        }
        JsonLogLayout layout = new JsonLogLayout();
        layout.setContext(ctx);
        layout.start();
        var encoder = new ch.qos.logback.core.encoder.LayoutWrappingEncoder<ILoggingEvent>();
        encoder.setContext(ctx);
        encoder.setLayout(layout);
        encoder.start();
        out.stop();
        out.setEncoder(encoder);
        out.start();
    }
}
