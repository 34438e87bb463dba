package dev.pgembed.benchmarks;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/** Writes the Markdown tables and the chart. */
final class Report {
    private Report() {}

    static void write(Results r, Path outDir) throws IOException {
        Files.createDirectories(outDir);
        Files.writeString(outDir.resolve("results.md"), markdown(r));
        chart(r, outDir.resolve("results.png"));
    }

    static String machine() {
        String cpu = "?";
        String mem = "?";
        String kernel = "?";
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    cpu = l.substring(l.indexOf(':') + 1).trim();
                    break;
                }
            }
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(l.replaceAll("[^0-9]", ""));
                    mem = String.format(Locale.ROOT, "%.1f GiB", kb / 1024.0 / 1024.0);
                }
            }
            kernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (IOException | RuntimeException ignored) {
            // not Linux: leave the question marks
        }
        return "nproc " + Runtime.getRuntime().availableProcessors() + ", CPU " + cpu + ", memory " + mem
                + ", kernel " + kernel + ", JDK " + System.getProperty("java.vm.vendor") + " "
                + System.getProperty("java.runtime.version");
    }

    static String fmt(double v) {
        double a = Math.abs(v);
        String f = a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f";
        return String.format(Locale.ROOT, f, v);
    }

    static String markdown(Results r) {
        StringBuilder b = new StringBuilder();
        b.append("# pgembed side by side\n\n");
        b.append("- Date: ")
                .append(ZonedDateTime.now().format(DateTimeFormatter.RFC_1123_DATE_TIME))
                .append('\n');
        b.append("- Machine: ").append(machine()).append('\n');
        b.append("- Mode: ")
                .append(r.smoke ? "smoke (every count divided by 100, no PGlite, no bulk load)" : "full")
                .append(r.parts == null ? "" : ", parts " + r.parts)
                .append('\n');
        for (Map.Entry<String, String> v : r.versions.entrySet()) {
            b.append("- ").append(v.getKey()).append(": ").append(v.getValue()).append('\n');
        }
        b.append("- Command: `mvn -q -B install -DskipTests && mvn -q -B -pl benchmarks validate exec:exec`")
                .append(" (`PGEMBED_BENCH=smoke` for the quick run)\n");
        b.append("- SELECT 1 latency: JMH SampleTime (not forked) for the in-process engines (pgembed, SQLite);")
                .append(" a manual loop of System.nanoTime / process.hrtime samples after a warm-up for the server")
                .append(" and PGlite.\n");
        b.append("- Every engine gets the same warm-up on a throw-away database, then the same statements with the")
                .append(" same parameters: prepared statements; inside a transaction, non-query statements use the")
                .append(" batch path (pgembed `executeBatch`, JDBC `executeBatch`; PGlite has none and loops);")
                .append(" the bulk load is COPY for PostgreSQL engines (`copyIn`, `CopyManager`, PGlite's")
                .append(" `/dev/blob`) and one transaction of batched prepared INSERTs for SQLite.\n");
        b.append("- The literal-SQL speed test runs the same statements as SQL text with the values written in:")
                .append(" one plain statement per parameter set, no prepared statement and no batch (pgembed")
                .append(" `query`/`execute`, JDBC `Statement`, PGlite `query` without parameters).\n");
        b.append("- The server is our own PostgreSQL build started by the harness (defaults, fsync on); its")
                .append(" \"fresh database\" is CREATE DATABASE plus a connection, its \"open\" a new connection.\n");
        for (String n : r.notes) {
            b.append("- ").append(n).append('\n');
        }
        if (!r.skipped.isEmpty()) {
            b.append("\nSkipped:\n\n");
            for (String s : r.skipped) {
                b.append("- ").append(s).append('\n');
            }
        }
        for (Target.Group g : Target.Group.values()) {
            List<Target> cols = new ArrayList<>();
            for (Target t : r.targets) {
                if (t.group() == g) {
                    cols.add(t);
                }
            }
            if (cols.isEmpty()) {
                continue;
            }
            String base = g.baseline;
            String baseLabel = r.targets.stream()
                    .filter(t -> t.id().equals(base))
                    .map(Target::label)
                    .findFirst()
                    .orElse(null);
            // the ratio column: pgembed's direct API against the baseline, beside pgembed's column
            Target primary = cols.stream()
                    .filter(t -> t.id().startsWith("pgembed-") && !t.id().contains("jdbc"))
                    .findFirst()
                    .orElse(null);
            boolean ratioColumn = primary != null && baseLabel != null;
            b.append("\n## ").append(g.title).append("\n\n");
            b.append(
                    baseLabel == null
                            ? "No SQLite-on-disk baseline in this run.\n\n"
                            : "In brackets and in the ratio column: the ratio to " + baseLabel
                                    + " (above 1: slower than it). The geometric mean of a speed test's 16 ratios closes it.\n\n");
            b.append("| Workload | unit |");
            for (Target t : cols) {
                b.append(' ').append(t.label()).append(" |");
                if (ratioColumn && t == primary) {
                    b.append(" ratio (").append(t.label()).append(" ÷ SQLite) |");
                }
            }
            int ncols = cols.size() + (ratioColumn ? 1 : 0);
            b.append("\n|---|---|");
            b.append("---:|".repeat(ncols));
            b.append('\n');
            List<Results.Row> rows = new ArrayList<>(r.rows.values());
            for (int i = 0; i < rows.size(); i++) {
                Results.Row row = rows.get(i);
                String section = row.section();
                if (i == 0 || !rows.get(i - 1).section().equals(section)) {
                    b.append("| **")
                            .append(section)
                            .append("** | |")
                            .append(" |".repeat(ncols))
                            .append('\n');
                }
                b.append("| ")
                        .append(row.label())
                        .append(" | ")
                        .append(row.unit())
                        .append(" |");
                Double bv = r.get(row.id(), base);
                for (Target t : cols) {
                    Double v = r.get(row.id(), t.id());
                    b.append(' ');
                    if (v == null) {
                        b.append("—");
                    } else {
                        b.append(fmt(v));
                        if (bv != null && bv > 0 && !t.id().equals(base)) {
                            b.append(" (")
                                    .append(String.format(Locale.ROOT, "%.2f", v / bv))
                                    .append("×)");
                        }
                    }
                    b.append(" |");
                    if (ratioColumn && t == primary) {
                        b.append(' ')
                                .append(
                                        v == null || bv == null || bv <= 0
                                                ? "—"
                                                : String.format(Locale.ROOT, "%.2f×", v / bv))
                                .append(" |");
                    }
                }
                b.append('\n');
                boolean lastOfSection =
                        i + 1 == rows.size() || !rows.get(i + 1).section().equals(section);
                if (lastOfSection && isSpeedTest(section) && baseLabel != null) {
                    geometricMeanRow(b, r, rows, section, cols, base, ratioColumn ? primary : null);
                }
            }
        }
        return b.toString();
    }

    static boolean isSpeedTest(String section) {
        return section.equals(Workloads.SPEED) || section.equals(Workloads.LITERAL);
    }

    /**
     * The geometric mean of each target's ratios to the baseline over a section's rows (only a target
     * with a value in every row gets one).
     */
    static Double geometricMean(Results r, List<Results.Row> rows, String section, String target, String base) {
        double logSum = 0;
        int n = 0;
        for (Results.Row row : rows) {
            if (!row.section().equals(section)) {
                continue;
            }
            Double v = r.get(row.id(), target);
            Double bv = r.get(row.id(), base);
            if (v == null || bv == null || v <= 0 || bv <= 0) {
                return null;
            }
            logSum += Math.log(v / bv);
            n++;
        }
        return n == 0 ? null : Math.exp(logSum / n);
    }

    private static void geometricMeanRow(
            StringBuilder b,
            Results r,
            List<Results.Row> rows,
            String section,
            List<Target> cols,
            String base,
            Target primary) {
        b.append("| *Geometric mean of the ratios to SQLite* | × |");
        for (Target t : cols) {
            Double gm = geometricMean(r, rows, section, t.id(), base);
            b.append(' ')
                    .append(gm == null ? "—" : t.id().equals(base) ? "1" : String.format(Locale.ROOT, "*%.2f×*", gm))
                    .append(" |");
            if (t == primary) {
                b.append(' ')
                        .append(gm == null ? "—" : String.format(Locale.ROOT, "**%.2f×**", gm))
                        .append(" |");
            }
        }
        b.append('\n');
    }

    static void chart(Results r, Path png) throws IOException {
        List<String> speedRows = new ArrayList<>();
        List<String> cats = new ArrayList<>();
        for (Results.Row row : r.rows.values()) {
            if (row.section().equals(Workloads.SPEED)) {
                speedRows.add(row.id());
                cats.add(row.label().substring(0, row.label().indexOf(':')));
            }
        }
        List<BufferedImage> parts = new ArrayList<>();
        for (Target.Group g : Target.Group.values()) {
            CategoryChart c = new CategoryChartBuilder()
                    .width(1600)
                    .height(620)
                    .title("Speed test, " + g.title.toLowerCase(Locale.ROOT) + " (ms, log scale; lower is better)")
                    .xAxisTitle("speedtest test number")
                    .yAxisTitle("ms")
                    .theme(Styler.ChartTheme.XChart)
                    .build();
            c.getStyler().setYAxisLogarithmic(true);
            c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
            c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
            c.getStyler().setOverlapped(false);
            c.getStyler().setChartBackgroundColor(Color.WHITE);
            int series = 0;
            double min = Double.MAX_VALUE;
            double max = 0.01;
            for (Target t : r.targets) {
                if (t.group() != g) {
                    continue;
                }
                List<Double> ys = new ArrayList<>();
                for (String id : speedRows) {
                    Double v = r.get(id, t.id());
                    double y = v == null ? 0.01 : Math.max(0.01, v);
                    ys.add(y);
                    min = Math.min(min, y);
                    max = Math.max(max, y);
                }
                c.addSeries(t.label(), cats, ys);
                series++;
            }
            if (series > 0) {
                // bar charts start at 0 unless told otherwise, which a log axis cannot show
                c.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(min))));
                c.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(max))));
                parts.add(BitmapEncoder.getBufferedImage(c));
            }
        }
        if (parts.isEmpty()) {
            return;
        }
        int w = parts.stream().mapToInt(BufferedImage::getWidth).max().orElse(1);
        int h = parts.stream().mapToInt(BufferedImage::getHeight).sum();
        BufferedImage all = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D gr = all.createGraphics();
        gr.setColor(Color.WHITE);
        gr.fillRect(0, 0, w, h);
        int y = 0;
        for (BufferedImage p : parts) {
            gr.drawImage(p, 0, y, null);
            y += p.getHeight();
        }
        gr.dispose();
        javax.imageio.ImageIO.write(all, "png", png.toFile());
    }
}
