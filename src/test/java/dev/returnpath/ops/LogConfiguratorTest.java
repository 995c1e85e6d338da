package dev.returnpath.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.core.ConsoleAppender;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;

/** The logging set-up that logback finds as a service instead of reading logback.xml. */
class LogConfiguratorTest {

    @Test
    void logbackFindsItAsAService() {
        List<Class<?>> found = ServiceLoader.load(Configurator.class).stream()
                .<Class<?>>map(ServiceLoader.Provider::type).toList();
        assertThat(found).contains(LogConfigurator.class);
    }

    @Test
    void oneConsoleAppenderAtInfoWithTheLibrariesAtWarn() {
        LoggerContext ctx = new LoggerContext();
        assertThat(new LogConfigurator().configure(ctx)).isEqualTo(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.INFO);
        assertThat(root.getAppender("CONSOLE")).isInstanceOfSatisfying(ConsoleAppender.class, a -> {
            assertThat(a.isStarted()).isTrue();
            assertThat(((PatternLayoutEncoder) a.getEncoder()).getPattern())
                    .isEqualTo("%d{yyyy-MM-dd'T'HH:mm:ss.SSSZ} %-5level %logger{0}: %msg%n");
        });
        assertThat(ctx.getLogger("org.subethamail").getLevel()).isEqualTo(Level.WARN);
        assertThat(ctx.getLogger("org.eclipse.angus").getLevel()).isEqualTo(Level.WARN);
        assertThat(ctx.getLogger("org.xbill").getLevel()).isEqualTo(Level.WARN);
    }

    @Test
    void anOperatorsLogbackConfigurationFileWins() {
        System.setProperty("logback.configurationFile", "/etc/returnpath/logback.xml");
        try {
            LoggerContext ctx = new LoggerContext();
            assertThat(new LogConfigurator().configure(ctx)).isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
            assertThat(ctx.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("CONSOLE")).isNull();
        } finally {
            System.clearProperty("logback.configurationFile");
        }
    }
}
