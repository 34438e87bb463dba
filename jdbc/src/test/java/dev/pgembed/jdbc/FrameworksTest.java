package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.Id;
import jakarta.persistence.ManyToOne;
import java.nio.file.Path;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.hibernate.SessionFactory;
import org.hibernate.cfg.Configuration;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FrameworksTest {

    @Test
    void flywayMigrations(@TempDir Path dir) {
        PgEmbedDataSource ds = new PgEmbedDataSource("jdbc:pgembed:" + dir.resolve("flyway"));
        // Flyway's default lock is a transaction held on one connection while another one migrates: two
        // simultaneous transactions, which one embedded session cannot run. Its session-level lock works.
        var config = Flyway.configure().dataSource(ds);
        config.getPluginRegister()
                .getExact(PostgreSQLConfigurationExtension.class)
                .setTransactionalLock(false);
        Flyway flyway = config.load();
        MigrateResult first = flyway.migrate();
        assertThat(first.migrationsExecuted).isEqualTo(3);
        assertThat(first.targetSchemaVersion).isEqualTo("3");
        assertThat(flyway.migrate().migrationsExecuted).isZero();
        assertThat(flyway.info().applied()).hasSize(3);
        Jdbi jdbi = Jdbi.create(ds);
        List<String> books = jdbi.withHandle(h -> h.createQuery("SELECT books_of('Ursula K. Le Guin')")
                .mapTo(String.class)
                .list());
        assertThat(books).containsExactly("A Wizard of Earthsea", "The Dispossessed");
    }

    @Test
    void jdbi() {
        PgEmbedDataSource ds = new PgEmbedDataSource("jdbc:pgembed:memory:jdbi?prepareThreshold=1");
        Jdbi jdbi = Jdbi.create(ds);
        // a named in-memory database lives while a connection to it is open
        org.jdbi.v3.core.Handle keeper = jdbi.open();
        jdbi.useHandle(h -> h.execute("CREATE TABLE item (id int PRIMARY KEY, name text, price numeric(10,2))"));
        jdbi.useTransaction(h -> {
            var batch = h.prepareBatch("INSERT INTO item VALUES (:id, :name, :price)");
            for (int i = 1; i <= 100; i++) {
                batch.bind("id", i)
                        .bind("name", "item " + i)
                        .bind("price", i * 1.5)
                        .add();
            }
            batch.execute();
        });
        assertThatThrownBy(() -> jdbi.useTransaction(h -> {
                    h.execute("DELETE FROM item");
                    throw new IllegalStateException("roll back");
                }))
                .isInstanceOf(IllegalStateException.class);
        Integer count = jdbi.withHandle(h ->
                h.createQuery("SELECT count(*) FROM item").mapTo(Integer.class).one());
        assertThat(count).isEqualTo(100);
        List<String> names = jdbi.withHandle(h -> h.createQuery("SELECT name FROM item WHERE price > :p ORDER BY id")
                .bind("p", 148)
                .mapTo(String.class)
                .list());
        assertThat(names).containsExactly("item 99", "item 100");
        keeper.close();
    }

    @Entity(name = "Team")
    public static class Team {
        @Id
        @GeneratedValue
        Long id;

        String name;

        public Team() {}

        Team(String name) {
            this.name = name;
        }
    }

    @Entity(name = "Player")
    public static class Player {
        @Id
        @GeneratedValue
        Long id;

        String name;
        int goals;

        @ManyToOne
        Team team;

        public Player() {}

        Player(String name, int goals, Team team) {
            this.name = name;
            this.goals = goals;
            this.team = team;
        }
    }

    @Test
    void hibernate() {
        Configuration cfg = new Configuration()
                .addAnnotatedClass(Team.class)
                .addAnnotatedClass(Player.class)
                .setProperty("hibernate.connection.url", "jdbc:pgembed:memory:hibernate")
                .setProperty("hibernate.connection.pool_size", "2")
                .setProperty("hibernate.hbm2ddl.auto", "create-drop");
        try (SessionFactory sf = cfg.buildSessionFactory()) {
            sf.inTransaction(s -> {
                Team red = new Team("red");
                Team blue = new Team("blue");
                s.persist(red);
                s.persist(blue);
                s.persist(new Player("Ann", 3, red));
                s.persist(new Player("Bob", 5, red));
                s.persist(new Player("Cid", 2, blue));
            });
            assertThatThrownBy(() -> sf.inTransaction(s -> {
                        s.createMutationQuery("DELETE FROM Player").executeUpdate();
                        throw new IllegalStateException("roll back");
                    }))
                    .isInstanceOf(IllegalStateException.class);
            List<Object[]> goals = sf.fromSession(s -> s.createSelectionQuery(
                            "SELECT p.team.name, sum(p.goals) FROM Player p GROUP BY p.team.name ORDER BY p.team.name",
                            Object[].class)
                    .getResultList());
            assertThat(goals).hasSize(2);
            assertThat(goals.get(0)).containsExactly("blue", 2L);
            assertThat(goals.get(1)).containsExactly("red", 8L);
            Player bob = sf.fromSession(s -> s.createSelectionQuery("FROM Player WHERE name = :n", Player.class)
                    .setParameter("n", "Bob")
                    .getSingleResult());
            assertThat(bob.goals).isEqualTo(5);
        }
    }
}
