package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.junit.jupiter.api.Test;

/** Without pgembed-postgis on the class path, CREATE EXTENSION postgis fails as PostgreSQL's does, naming the artifact. */
class MissingAddonTest {

    @Test
    void createExtensionPostgisNamesTheArtifactToAdd() {
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            PgException e = catchThrowableOfType(PgException.class, () -> db.execute("CREATE EXTENSION postgis"));
            assertThat(e).isNotNull();
            assertThat(e.sqlState()).isEqualTo("0A000");
            assertThat(e.getMessage()).isEqualTo("extension \"postgis\" is not available");
            assertThat(e.hint()).contains("dev.pgembed:pgembed-postgis");
            // the database is unharmed and other missing extensions keep PostgreSQL's hint alone
            PgException other = catchThrowableOfType(PgException.class, () -> db.execute("CREATE EXTENSION no_such"));
            assertThat(other.sqlState()).isEqualTo("0A000");
            assertThat(other.hint()).doesNotContain("pgembed");
            try (Result r = db.query("SELECT 1")) {
                assertThat(r.row(0).getInt(0)).isEqualTo(1);
            }
        }
    }
}
