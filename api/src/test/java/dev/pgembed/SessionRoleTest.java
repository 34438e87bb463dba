package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A session opened as a role that is not a superuser: untrusted SQL cannot act as the OS user. */
class SessionRoleTest {
    @TempDir
    static Path dir;

    static PgEmbedded db;

    @BeforeAll
    static void open() {
        try (PgEmbedded admin = PgEmbedded.builder(dir).open()) {
            admin.execute("CREATE ROLE app LOGIN; CREATE ROLE boss LOGIN SUPERUSER; CREATE SCHEMA AUTHORIZATION app;"
                    + "CREATE TABLE public.ledger(id int, note text); GRANT SELECT, INSERT ON public.ledger TO app");
        }
        db = PgEmbedded.builder(dir).sessionRole("app").open();
        db.execute("CREATE TABLE app.lines(line text)");
    }

    @AfterAll
    static void close() {
        if (db != null) {
            db.close();
        }
    }

    private static String scalar(String sql) {
        try (Result r = db.query(sql)) {
            return r.row(0).getString(0);
        }
    }

    @Test
    void theSessionBelongsToTheRole() {
        assertThat(db.sessionRole()).contains("app");
        assertThat(scalar("SELECT current_user || '/' || session_user || '/' || current_setting('is_superuser')"))
                .isEqualTo("app/app/off");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "SET SESSION AUTHORIZATION postgres",
                "SET ROLE postgres",
                "ALTER ROLE app SUPERUSER",
                "GRANT pg_read_server_files TO app",
                "SELECT pg_read_file('/etc/passwd')",
                "SELECT pg_read_binary_file('/etc/passwd')",
                "SELECT pg_ls_dir('/')",
                "COPY app.lines FROM '/etc/passwd'",
                "COPY app.lines TO '/tmp/pgembed-session-role-test'",
                "COPY app.lines FROM PROGRAM 'id'",
                "COPY (SELECT 1) TO PROGRAM 'cat'",
                "SELECT lo_import('/etc/passwd')",
                "LOAD 'plpgsql'",
                "CREATE FUNCTION app.pid() RETURNS int LANGUAGE C AS 'libc.so.6', 'getpid'",
                "ALTER SYSTEM SET work_mem = '1GB'",
                "SET log_statement = 'all'",
                "SET session_preload_libraries = 'auto_explain'",
                "CREATE EXTENSION file_fdw",
            })
    void superuserPowersAreRefused(String sql) {
        assertThatThrownBy(() -> db.execute(sql))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("42501"));
        assertThat(scalar("SELECT current_user")).isEqualTo("app");
    }

    @Test
    void resetsReturnToTheRole() {
        db.execute("RESET SESSION AUTHORIZATION");
        db.execute("SET SESSION AUTHORIZATION DEFAULT");
        db.execute("DISCARD ALL");
        assertThat(scalar("SELECT current_user || '/' || session_user")).isEqualTo("app/app");
    }

    @Test
    void ordinaryWorkWorks() {
        db.execute("CREATE TABLE app.items(id int PRIMARY KEY, name text)");
        assertThat(db.execute("INSERT INTO app.items VALUES ($1, $2), ($3, $4)", 1, "one", 2, "two"))
                .isEqualTo(2);
        assertThat(scalar("SELECT string_agg(name, ',' ORDER BY id) FROM app.items"))
                .isEqualTo("one,two");
        db.execute("INSERT INTO public.ledger VALUES (1, 'x')");
        assertThat(scalar("SELECT count(*)::text FROM public.ledger")).isEqualTo("1");
        assertThatThrownBy(() -> db.execute("CREATE TABLE public.mine(x int)"))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("42501"));
    }

    @Test
    void aSuperuserOrUnknownRoleIsRefused() {
        db.close();
        try {
            for (String role : new String[] {"boss", "postgres", "nobody_here"}) {
                assertThatThrownBy(
                                () -> PgEmbedded.builder(dir).sessionRole(role).open())
                        .isInstanceOfSatisfying(
                                PgException.class, e -> assertThat(e.sqlState()).isEqualTo("28000"));
            }
        } finally {
            db = PgEmbedded.builder(dir).sessionRole("app").open();
        }
    }
}
