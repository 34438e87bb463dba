package dev.pgembed.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The harness in smoke mode, pgembed and SQLite only (no server, no PGlite: fast and self-contained). */
class BenchmarksSmokeTest {

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void smokeRunWritesATableWithARowPerWorkloadAndANumberPerEngine(@TempDir Path out) throws Exception {
        Benchmarks.Options o = new Benchmarks.Options(true, Set.of("pgembed", "sqlite"), out, Path.of("."));
        Results r = Benchmarks.run(o);

        assertThat(r.skipped).isEmpty();
        assertThat(r.targets)
                .extracting(Target::id)
                .containsExactly(
                        "pgembed-durable",
                        "sqlite-full",
                        "pgembed-relaxed",
                        "pgembed-memory",
                        "sqlite-normal",
                        "sqlite-memory");
        assertThat(out.resolve("results.png")).isNotEmptyFile();
        String md = Files.readString(out.resolve("results.md"));
        assertThat(md).contains("nproc", "kernel", "JDK", "JMH");
        // durable spares only in their own row: the pgembed disk targets have a figure there
        assertThat(r.values.get("open-fresh-spare")).containsOnlyKeys("pgembed-durable", "pgembed-relaxed");

        List<Workloads.Workload> expected = new ArrayList<>(Workloads.speedTest(100));
        expected.addAll(Workloads.literal(Workloads.speedTest(100)));
        expected.addAll(Workloads.roundTrips(20));
        assertThat(expected).hasSize(16 + 16 + 12);
        for (Workloads.Workload w : expected) {
            assertThat(r.rows).containsKey(w.id());
        }
        List<String> labels =
                new ArrayList<>(expected.stream().map(Workloads.Workload::label).toList());
        labels.addAll(List.of(
                "SELECT 1, mean",
                "SELECT 1, p50",
                "SELECT 1, p99",
                "Create a fresh database",
                "Open an existing database"));

        List<String> lines = md.lines().toList();
        for (Target.Group g : Target.Group.values()) {
            int start = lines.indexOf("## " + g.title);
            assertThat(start).as(g.title).isPositive();
            String header = lines.stream()
                    .skip(start)
                    .filter(l -> l.startsWith("| Workload"))
                    .findFirst()
                    .orElseThrow();
            int engines = header.split("\\|").length - 3; // "", Workload, unit, engines and the ratio...
            assertThat(engines).isEqualTo(g == Target.Group.DURABLE ? 2 + 1 : 4 + 1);
            assertThat(header).contains("ratio (pgembed");
            // each speed test, prepared and literal, ends with its geometric mean
            assertThat(lines.stream()
                            .skip(start)
                            .takeWhile(l -> !l.startsWith("## ") || l.equals("## " + g.title))
                            .filter(l -> l.startsWith("| *Geometric mean"))
                            .count())
                    .isEqualTo(2);
            for (String label : labels) {
                String row = lines.stream()
                        .skip(start)
                        .filter(l -> l.startsWith("| " + label))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError("no row " + label + " in " + g));
                String[] cells = row.split("\\|");
                assertThat(cells).hasSize(3 + engines);
                for (int i = 3; i < cells.length; i++) {
                    String cell = cells[i].trim();
                    if (label.startsWith("Open an existing") && cell.equals("—")) {
                        continue; // in-memory databases cannot be opened again
                    }
                    assertThat(cell)
                            .as(label + " column " + i + " in " + g)
                            .matches("[0-9.]+( \\([0-9.]+×\\))?|[0-9.]+×");
                }
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void smokeRunThroughJdbcPgembed(@TempDir Path out) throws Exception {
        Benchmarks.Options o = new Benchmarks.Options(true, Set.of("jdbc"), out, Path.of("."));
        Results r = Benchmarks.run(o);

        assertThat(r.skipped).isEmpty();
        assertThat(r.targets).extracting(Target::id).containsExactly("pgembed-jdbc-durable", "pgembed-jdbc-relaxed");
        assertThat(r.values.get("lat-mean")).containsKeys("pgembed-jdbc-durable", "pgembed-jdbc-relaxed");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void partsAndGroupsNarrowTheRunToTheSpeedTestOfTheDurableTargets(@TempDir Path out) throws Exception {
        Benchmarks.Options o = new Benchmarks.Options(
                true, Set.of("pgembed", "sqlite"), Set.of("speed"), Set.of("durable"), out, Path.of("."));
        Results r = Benchmarks.run(o);

        assertThat(r.skipped).isEmpty();
        assertThat(r.targets).extracting(Target::id).containsExactly("pgembed-durable", "sqlite-full");
        List<String> speed =
                Workloads.speedTest(100).stream().map(Workloads.Workload::id).toList();
        assertThat(r.rows.keySet()).containsExactlyElementsOf(speed);
        for (String id : speed) {
            assertThat(r.values.get(id)).containsOnlyKeys("pgembed-durable", "sqlite-full");
        }
        assertThat(Files.readString(out.resolve("results.md")))
                .contains("parts speed of groups durable")
                .doesNotContain("## " + Target.Group.RELAXED.title);
    }
}
