package dev.pgembed;

import java.util.ArrayList;
import java.util.List;

/**
 * Structural checks of a database with the bundled amcheck extension: every B-tree index of the database
 * (catalogs included) against its parent links and its heap ({@code bt_index_parent_check} with
 * {@code heapallindexed}), and every ordinary table's heap and TOAST ({@code verify_heapam}).
 */
final class IntegrityCheck {
    private IntegrityCheck() {}

    /** Runs the checks; returns what amcheck reported (empty when the database is sound) and counts. */
    static Report run(PgEmbedded db) {
        try (Result r = db.query("SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'")) {
            if (r.row(0).getLong(0) == 0) {
                db.execute("CREATE EXTENSION amcheck");
            }
        }
        List<String> problems = new ArrayList<>();
        List<String> indexes = new ArrayList<>();
        try (Result r = db.query("SELECT c.oid::regclass::text FROM pg_index i"
                + " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
                + " WHERE a.amname = 'btree' AND c.relpersistence = 'p' AND i.indisvalid AND i.indisready"
                + " ORDER BY 1")) {
            r.forEach(row -> indexes.add(row.getString(0)));
        }
        for (String index : indexes) {
            try {
                // heapallindexed: every heap tuple has its index entry; rootdescend: each leaf tuple is
                // found again from the root
                db.query("SELECT bt_index_parent_check($1::regclass, true, true)", index)
                        .close();
            } catch (PgException e) {
                problems.add(index + ": " + e.sqlState() + " " + e.getMessage());
            }
        }
        List<String> tables = new ArrayList<>();
        try (Result r = db.query("SELECT oid::regclass::text FROM pg_class WHERE relkind IN ('r', 'm')"
                + " AND relpersistence = 'p' ORDER BY 1")) {
            r.forEach(row -> tables.add(row.getString(0)));
        }
        for (String table : tables) {
            try (Result r = db.query(
                    "SELECT blkno, offnum, attnum, msg FROM verify_heapam($1::regclass," + " check_toast => true)",
                    table)) {
                r.forEach(row -> problems.add(table + ": block " + row.getString(0) + " offset " + row.getString(1)
                        + " attribute " + row.getString(2) + ": " + row.getString(3)));
            }
        }
        return new Report(indexes.size(), tables.size(), problems);
    }

    record Report(int indexes, int tables, List<String> problems) {}
}
