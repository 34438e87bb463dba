package dev.pgembed;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The OIDs one database gave the extension types of the type table ({@link PgType#VECTOR} and the other rows
 * with an extension): created with the extension, they differ between databases and change when it is
 * dropped and created again, so they are looked up by name ({@link #LOOKUP}) whenever they may have changed.
 * {@link NativeSession} runs the lookup and hands the OIDs to the C front, which then returns such columns
 * in binary.
 *
 * <p>The lookup is due ({@link #isStale()}) at the start (unless the database was just created: {@link
 * #knownEmpty()}), after a statement that names an extension, and
 * when a result has a column of an unknown user-defined type (an OID of {@link #FIRST_NORMAL_OID} or more
 * not looked up before); it runs when the session is outside a transaction block, so that it cannot affect
 * one. Reads are lock-free (the maps are replaced whole), since results are read on any thread.
 */
final class ExtensionTypes {
    /** PostgreSQL's FirstNormalObjectId: OIDs below it belong to the types of the system catalogs. */
    static final int FIRST_NORMAL_OID = 16384;

    /** Every extension type of the table, by extension and name; its columns: typname, oid. */
    static final String LOOKUP;

    /**
     * A row when the database has one of the table's extensions at all: without one, {@link #LOOKUP}'s answer is
     * known to be empty. It reads only pg_extension (0.9 ms of CPU cold, against 2.2 ms for the lookup's join with
     * pg_depend and pg_type, neither of whose relation cache entries an open builds), so that the first statement
     * of an existing database without them skips the lookup's cold catalog reads.
     */
    static final String PROBE;

    static {
        StringBuilder pairs = new StringBuilder();
        StringBuilder names = new StringBuilder();
        Set<String> extensions = new LinkedHashSet<>();
        for (PgType t : PgType.values()) {
            if (t.isExtension()) {
                pairs.append(pairs.isEmpty() ? "" : ", ")
                        .append("('")
                        .append(t.extension)
                        .append("', '")
                        .append(t.typeName)
                        .append("')");
                if (extensions.add(t.extension)) {
                    names.append(names.isEmpty() ? "" : ", ")
                            .append('\'')
                            .append(t.extension)
                            .append('\'');
                }
            }
        }
        PROBE = "SELECT 1 FROM pg_catalog.pg_extension WHERE extname IN (" + names + ") LIMIT 1";
        LOOKUP = "SELECT t.typname, t.oid FROM pg_catalog.pg_type t"
                + " JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass"
                + " AND d.objid = t.oid AND d.deptype = 'e'"
                + " JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid"
                + " WHERE (e.extname, t.typname) IN (" + pairs + ")";
    }

    private volatile Map<Integer, PgType> byOid = Map.of();
    private volatile Map<PgType, Integer> oids = Map.of();
    /* user-defined type OIDs a lookup found not to be ours, and those seen since the last lookup */
    private final Set<Integer> others = ConcurrentHashMap.newKeySet();
    private final Set<Integer> pending = ConcurrentHashMap.newKeySet();
    private volatile boolean stale = true;

    /** True when sql contains the word EXTENSION in any case (without copying it: this runs for every statement). */
    static boolean namesExtension(String sql) {
        for (int i = 0, last = sql.length() - 9; i <= last; i++) {
            char c = sql.charAt(i);
            if ((c == 'e' || c == 'E') && sql.regionMatches(true, i, "extension", 0, 9)) {
                return true;
            }
        }
        return false;
    }

    /** The extension type of an OID of this database, or null. */
    PgType ofOid(int oid) {
        return oid >= FIRST_NORMAL_OID ? byOid.get(oid) : null;
    }

    /** The OID of an extension type in this database, or null when the extension is not there (as last seen). */
    Integer oid(PgType t) {
        return oids.get(t);
    }

    /** True when a lookup is due. */
    boolean isStale() {
        return stale;
    }

    /** A statement that may have created, dropped or changed an extension ran. */
    void changed() {
        stale = true;
    }

    /** A result had a column of type oid: when it is a user-defined type not seen yet, a lookup is due. */
    void seen(int oid) {
        if (oid >= FIRST_NORMAL_OID && !byOid.containsKey(oid) && !others.contains(oid) && pending.add(oid)) {
            stale = true;
        }
    }

    /**
     * The database was created from pgembed's template just before its engine started: it has no extension but
     * plpgsql, so the lookup's answer is known to be empty, and its cold catalog reads (3.5 ms of CPU, as much as
     * a tenth of a fresh database's open) are skipped until a statement names an extension.
     */
    void knownEmpty() {
        found(Map.of());
    }

    /** The lookup's answer (type name to OID); returns the OIDs, for the C front's binary list. */
    int[] found(Map<String, Integer> byName) {
        Map<Integer, PgType> b = new HashMap<>();
        Map<PgType, Integer> o = new EnumMap<>(PgType.class);
        for (PgType t : PgType.values()) {
            Integer oid = t.isExtension() ? byName.get(t.typeName) : null;
            if (oid != null) {
                b.put(oid, t);
                o.put(t, oid);
            }
        }
        byOid = Map.copyOf(b);
        oids = Map.copyOf(o);
        for (Integer p : pending) {
            if (!b.containsKey(p)) {
                others.add(p);
            }
        }
        pending.clear();
        stale = false;
        return o.values().stream().mapToInt(Integer::intValue).toArray();
    }
}
