package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.internal.bindings.PgEmbeddedH;
import java.lang.System.Logger.Level;
import org.junit.jupiter.api.Test;

/**
 * The System.Logger level of each server log level, by the header's names (no database: the mapping is
 * pure). Instances.serverLogLevel says why each level goes where it goes.
 */
class ServerLogLevelTest {

    @Test
    void onlyTheEndOfAnEngineIsAnError() {
        assertThat(Instances.serverLogLevel(PgEmbeddedH.PGEMBED_LOG_PANIC())).isEqualTo(Level.ERROR);
        assertThat(Instances.serverLogLevel(PgEmbeddedH.PGEMBED_LOG_FATAL())).isEqualTo(Level.ERROR);
    }

    @Test
    void whatAStatementAlsoReportsToItsCallerAndRoutineServerLinesAreDebug() {
        for (int level : new int[] {
            PgEmbeddedH.PGEMBED_LOG_ERROR(),
            PgEmbeddedH.PGEMBED_LOG_WARNING(),
            PgEmbeddedH.PGEMBED_LOG_NOTICE(),
            PgEmbeddedH.PGEMBED_LOG_INFO(),
            PgEmbeddedH.PGEMBED_LOG_LOG_SERVER_ONLY(),
            PgEmbeddedH.PGEMBED_LOG_LOG(),
            PgEmbeddedH.PGEMBED_LOG_DEBUG1()
        }) {
            assertThat(Instances.serverLogLevel(level)).as("elevel %d", level).isEqualTo(Level.DEBUG);
        }
    }

    @Test
    void theFinerDebugLevelsAreTrace() {
        for (int level : new int[] {
            PgEmbeddedH.PGEMBED_LOG_DEBUG2(),
            PgEmbeddedH.PGEMBED_LOG_DEBUG3(),
            PgEmbeddedH.PGEMBED_LOG_DEBUG4(),
            PgEmbeddedH.PGEMBED_LOG_DEBUG5()
        }) {
            assertThat(Instances.serverLogLevel(level)).as("elevel %d", level).isEqualTo(Level.TRACE);
        }
    }
}
