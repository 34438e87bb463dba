package dev.pgembed.benchmarks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Measured values by row and target, plus what the report says around them. */
final class Results {
    /** A row of the tables. */
    record Row(String id, String section, String label, String unit) {}

    final Map<String, Row> rows = new LinkedHashMap<>();
    /** row id -> target id -> value (in the row's unit) */
    final Map<String, Map<String, Double>> values = new LinkedHashMap<>();

    final List<Target> targets = new ArrayList<>();
    /** "target label: reason" of every engine that did not run (or failed). */
    final List<String> skipped = new ArrayList<>();

    final Map<String, String> versions = new LinkedHashMap<>();
    final List<String> notes = new ArrayList<>();
    boolean smoke;
    /** The parts and groups run when not all of them (PGEMBED_BENCH_PARTS/GROUPS), else null. */
    String parts;

    void row(String id, String section, String label, String unit) {
        rows.putIfAbsent(id, new Row(id, section, label, unit));
    }

    void put(String rowId, String targetId, double v) {
        values.computeIfAbsent(rowId, k -> new LinkedHashMap<>()).put(targetId, v);
    }

    Double get(String rowId, String targetId) {
        Map<String, Double> m = values.get(rowId);
        return m == null ? null : m.get(targetId);
    }
}
