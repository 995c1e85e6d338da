package dev.returnpath.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The logging set-up, in code rather than in {@code logback.xml}: one console appender named
 * {@code CONSOLE} on the root logger ({@link JsonLogLayout#install} swaps its layout), on
 * {@code System.out} for {@code serve} (the container convention) and {@code System.err} for
 * every other command, whose stdout carries only its output ({@code Main} sets
 * {@code returnpath.log.target}); level {@code returnpath.log.level} (INFO), and the libraries'
 * chatter at WARN.
 *
 * <p>Why code: reading an XML configuration loads logback's XML parser and its Joran model,
 * some 900 classes and a quarter of a second of a relay's start (docs/benchmarks.md). Found by
 * logback through {@code META-INF/services}. An operator's {@code -Dlogback.configurationFile}
 * still wins: this configurator then steps aside and logback reads that file.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogConfigurator extends ContextAwareBase implements Configurator {

    static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSZ} %-5level %logger{0}: %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext ctx) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(ctx);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(ctx);
        console.setName("CONSOLE");
        console.setTarget(System.getProperty("returnpath.log.target", "System.out"));
        console.setEncoder(encoder);
        console.start();
        for (String chatty : new String[] {"org.subethamail", "org.eclipse.angus", "org.xbill"}) {
            ctx.getLogger(chatty).setLevel(Level.WARN);
        }
        Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(System.getProperty("returnpath.log.level", "INFO"), Level.INFO));
        root.addAppender(console);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
