package dev.pgembed.conformance;

import java.util.List;

/**
 * What one statement produced on one side.
 *
 * @param ok        true when it succeeded
 * @param sqlState  the SQLSTATE of the error (null on success)
 * @param message   the error message (null on success; reported, not compared)
 * @param tag       the command tag (success)
 * @param columns   the column names, or null when the statement returns no rows
 * @param rows      the rows in text form, or null
 * @param copyText  the data of COPY TO STDOUT, or null
 * @param floatCols per column, 4 or 8 when the value came as a binary float4/float8 (pgembed), else 0
 */
record Outcome(
        boolean ok,
        String sqlState,
        String message,
        String tag,
        List<String> columns,
        List<List<String>> rows,
        String copyText,
        int[] floatCols) {

    static Outcome ok(String tag, List<String> columns, List<List<String>> rows) {
        return new Outcome(true, null, null, tag, columns, rows, null, null);
    }

    static Outcome copy(String tag, String text) {
        return new Outcome(true, null, null, tag, null, null, text, null);
    }

    static Outcome error(String sqlState, String message) {
        return new Outcome(false, sqlState, message, null, null, null, null, null);
    }

    String brief() {
        if (!ok) {
            return "ERROR " + sqlState + ": " + message;
        }
        StringBuilder b = new StringBuilder(tag == null ? "" : tag);
        if (columns != null) {
            b.append(' ').append(columns);
            int n = 0;
            for (List<String> r : rows) {
                if (n++ == 3) {
                    b.append(" ...");
                    break;
                }
                b.append(' ').append(r);
            }
        }
        if (copyText != null) {
            b.append(" copy:").append(copyText.length() > 120 ? copyText.substring(0, 120) + "..." : copyText);
        }
        String s = b.toString().replace('\n', ' ');
        return s.length() > 400 ? s.substring(0, 400) + "..." : s;
    }
}
