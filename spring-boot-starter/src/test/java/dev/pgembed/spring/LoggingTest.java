package dev.pgembed.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL's notices and log lines reach Logback: pgembed logs through {@link System.Logger} ("dev.pgembed"),
 * and slf4j-jdk-platform-logging hands System.Logger to SLF4J.
 */
class LoggingTest {

    @Test
    void noticesAndServerLogLinesArriveInLogback() {
        Logger logger = (Logger) LoggerFactory.getLogger("dev.pgembed");
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        Level before = logger.getLevel();
        logger.setLevel(Level.DEBUG);
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            db.execute("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; RAISE WARNING 'careful now'; END $$");
            assertThatThrownBy(() -> db.execute("SELECT 1 / 0")).isInstanceOf(PgException.class);
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(before);
        }
        assertThat(appender.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.INFO);
            assertThat(e.getFormattedMessage()).contains("hello from plpgsql");
        });
        assertThat(appender.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.WARN);
            assertThat(e.getFormattedMessage()).contains("careful now");
        });
        // the server's own log: at DEBUG (the caller gets a statement's error as a PgException; only FATAL and PANIC,
        // which end the engine, are logged at ERROR), each line prefixed with the database's directory name
        assertThat(appender.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.DEBUG);
            assertThat(e.getFormattedMessage()).contains("ERROR:  division by zero");
        });
        assertThat(appender.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.DEBUG);
            assertThat(e.getFormattedMessage()).contains("LOG:  checkpoint complete");
        });
    }
}
