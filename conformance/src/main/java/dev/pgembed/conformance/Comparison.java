package dev.pgembed.conformance;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Whether two sides did the same for a statement: the same success or SQLSTATE, command tag, COPY data,
 * columns and rows (sorted first when the statement does not order them, floats rounded alike when the
 * session prints fewer digits than pgembed's binary floats carry).
 */
final class Comparison {
    private Comparison() {}

    /** The session's extra_float_digits, asked only when a comparison needs it. */
    @FunctionalInterface
    interface FloatDigits {
        int get() throws IOException;
    }

    /** Null when equal, else what differs. */
    static String difference(String sql, Outcome e, Outcome s, FloatDigits floatDigits) throws IOException {
        // no columns and no rows: pgembed's Result cannot tell it from a statement that returns no rows
        if (s.ok() && s.columns() != null && s.columns().isEmpty() && s.rows().isEmpty()) {
            s = Outcome.ok(s.tag(), null, null);
        }
        if (e.ok() && e.columns() != null && e.columns().isEmpty() && e.rows().isEmpty()) {
            e = Outcome.ok(e.tag(), null, null);
        }
        if (e.ok() != s.ok()) {
            return e.ok() ? "pgembed succeeded, server failed" : "pgembed failed, server succeeded";
        }
        if (!e.ok()) {
            return Objects.equals(e.sqlState(), s.sqlState()) ? null : "SQLSTATE";
        }
        if (!Objects.equals(e.tag(), s.tag())) {
            return "command tag";
        }
        if (!Objects.equals(e.copyText(), s.copyText())) {
            return "COPY data";
        }
        if (!Objects.equals(e.columns(), s.columns())) {
            return "columns";
        }
        if (e.rows() == null && s.rows() == null) {
            return null;
        }
        if (e.rows() == null || s.rows() == null || e.rows().size() != s.rows().size()) {
            return "row count";
        }
        List<List<String>> er = e.rows();
        List<List<String>> sr = s.rows();
        if (e.floatCols() != null) {
            // getString of a binary float prints float8out's text for extra_float_digits >= 1: compared as is
            int efd = floatDigits.get();
            if (efd < 1) {
                er = canonicalFloats(er, e.floatCols(), efd, true);
                sr = canonicalFloats(sr, e.floatCols(), efd, false);
            }
        }
        if (!PsqlScript.ordered(sql)) {
            er = sorted(er);
            sr = sorted(sr);
        }
        return er.equals(sr) ? null : "rows";
    }

    /**
     * pgembed returns float4/float8 columns in binary form, which Row.getString prints as PostgreSQL does
     * with extra_float_digits >= 1 (the shortest exact form); below that PostgreSQL rounds to 15 (6) +
     * extra_float_digits digits, which the binary value cannot know: round it the same way before comparing.
     */
    private static List<List<String>> canonicalFloats(List<List<String>> rows, int[] kinds, int efd, boolean embedded) {
        List<List<String>> out = new ArrayList<>(rows.size());
        for (List<String> row : rows) {
            List<String> r = new ArrayList<>(row);
            for (int c = 0; c < kinds.length && c < r.size(); c++) {
                String v = r.get(c);
                if (kinds[c] == 0 || v == null) {
                    continue;
                }
                r.set(c, canonicalFloat(v, kinds[c], efd, embedded));
            }
            out.add(r);
        }
        return out;
    }

    private static String canonicalFloat(String v, int kind, int efd, boolean embedded) {
        try {
            double d = kind == 4 ? Float.parseFloat(v) : Double.parseDouble(v);
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                return Double.toString(d);
            }
            if (d == 0) {
                return "0";
            }
            int digits = Math.max(1, (kind == 4 ? 6 : 15) + efd);
            BigDecimal b = embedded
                    ? new BigDecimal(kind == 4 ? (double) (float) d : d)
                            .round(new MathContext(digits, RoundingMode.HALF_EVEN))
                    : new BigDecimal(v.trim());
            return b.stripTrailingZeros().toString();
        } catch (NumberFormatException ex) {
            return v;
        }
    }

    private static List<List<String>> sorted(List<List<String>> rows) {
        List<List<String>> s = new ArrayList<>(rows);
        Comparator<List<String>> cmp = (a, b) -> {
            for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                String x = a.get(i);
                String y = b.get(i);
                if (x == null || y == null) {
                    if (x != y) {
                        return x == null ? -1 : 1;
                    }
                    continue;
                }
                int k = x.compareTo(y);
                if (k != 0) {
                    return k;
                }
            }
            return Integer.compare(a.size(), b.size());
        };
        s.sort(cmp);
        return s;
    }
}
