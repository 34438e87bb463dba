package dev.pgembed.jdbc;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/*
 * A protocol 3 start-up packet read and checked, as a server's ProcessStartupPacket does, before the connection
 * joins a backend: what the client asked for that pgembed cannot give is refused here, with the SQLSTATE a server
 * would send. Also the parameters the start-up exchange reports back (ParameterStatus), as a server does.
 *
 * user and database: null when the packet names none; settings: the run-time parameters to set, from the packet
 * and its "options"; unknownOptions: the "_pq_." protocol options, for NegotiateProtocolVersion; replication: the
 * "replication" value of a replication connection ("database": logical, "true": physical), null for a normal one.
 */
record StartupPacket(
        String user, String database, Map<String, String> settings, List<String> unknownOptions, String replication) {
    /* the settings a server reports at start-up (GUC_REPORT), in its order */
    static final String[] REPORTED = {
        "server_version",
        "server_encoding",
        "client_encoding",
        "DateStyle",
        "TimeZone",
        "integer_datetimes",
        "standard_conforming_strings",
        "IntervalStyle",
        "is_superuser",
        "session_authorization",
        "application_name",
        "default_transaction_read_only",
        "in_hot_standby",
        "search_path"
    };

    /* a start-up request pgembed does not serve; sent to the client as FATAL */
    static final class Refused extends Exception {
        final String sqlState;

        Refused(String sqlState, String message) {
            super(message, null, false, false);
            this.sqlState = sqlState;
        }
    }

    /* m: the whole packet (length, protocol version, then name/value pairs) */
    static StartupPacket parse(byte[] m) throws Refused {
        Map<String, String> params = new LinkedHashMap<>();
        int p = 8;
        while (p < m.length && m[p] != 0) {
            int ke = Wire.cstrEnd(m, p, m.length);
            int ve = Wire.cstrEnd(m, ke + 1, m.length);
            params.put(
                    new String(m, p, ke - p, StandardCharsets.UTF_8),
                    new String(m, ke + 1, Math.max(0, ve - ke - 1), StandardCharsets.UTF_8));
            p = ve + 1;
        }
        String user = null;
        String database = null;
        String replication = null;
        List<String> unknownOptions = new ArrayList<>();
        Map<String, String> set = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : params.entrySet()) {
            String k = e.getKey();
            String v = e.getValue();
            switch (k) {
                case "user" -> user = v;
                case "database" -> database = v;
                case "client_encoding" -> {
                    String norm = v.replace("-", "").replace("_", "").toUpperCase(Locale.ROOT);
                    // SQL_ASCII means "no conversion": UTF-8 bytes pass as they are (psql in the C locale asks for it)
                    if (!norm.equals("UTF8") && !norm.equals("UNICODE") && !norm.equals("SQLASCII")) {
                        throw new Refused(
                                "22023", "pgembed-jdbc supports only client_encoding UTF8, not \"" + v + "\"");
                    }
                }
                case "replication" -> {
                    // PostgreSQL's parse_bool values, and "database"; a server refuses anything else the same way
                    String lv = v.toLowerCase(Locale.ROOT);
                    if (lv.equals("database")) {
                        replication = lv;
                    } else if (List.of("true", "on", "yes", "1").contains(lv)) {
                        replication = "true";
                    } else if (!List.of("false", "off", "no", "0").contains(lv)) {
                        throw new Refused("22023", "invalid value for parameter \"replication\": \"" + v + "\"");
                    }
                }
                case "options" -> {
                    if (!parseOptions(v, set)) {
                        throw new Refused(
                                "0A000",
                                "pgembed-jdbc supports only \"-c name=value\" and \"--name=value\" in"
                                        + " options, not \"" + v + "\"");
                    }
                }
                default -> {
                    if (k.startsWith("_pq_.")) {
                        unknownOptions.add(k);
                    } else {
                        set.put(k, v);
                    }
                }
            }
        }
        return new StartupPacket(user, database, set, unknownOptions, replication);
    }

    /* the REPORTED settings' values, then the backend's database, in one row */
    static String reportedQuery() {
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < REPORTED.length; i++) {
            sql.append(i == 0 ? "" : ", ")
                    .append("pg_catalog.current_setting(")
                    .append(Wire.literal(REPORTED[i]))
                    .append(", true)");
        }
        return sql.append(", pg_catalog.current_database()").toString();
    }

    /*
     * The rest of a successful start-up exchange, as a server sends it: NegotiateProtocolVersion when the client
     * asked for more than 3.0, AuthenticationOk, the REPORTED values (null: not sent), BackendKeyData,
     * ReadyForQuery
     */
    static void answer(Wire.Buf r, int minor, List<String> unknownOptions, String[] values, int pid, int secret) {
        if (minor > 0 || !unknownOptions.isEmpty()) {
            int at = r.begin('v');
            r.int32(3 << 16);
            r.int32(unknownOptions.size());
            for (String o : unknownOptions) {
                r.cstr(o);
            }
            r.end(at);
        }
        int at = r.begin('R');
        r.int32(0);
        r.end(at);
        for (int i = 0; i < REPORTED.length; i++) {
            if (values[i] != null) {
                Wire.parameterStatus(r, REPORTED[i], values[i]);
            }
        }
        at = r.begin('K');
        r.int32(pid);
        r.int32(secret);
        r.end(at);
        Wire.readyForQuery(r, 'I');
    }

    /* "-c a=b -c x=y" and "--a=b" */
    private static boolean parseOptions(String options, Map<String, String> into) {
        String[] words = options.trim().split("\\s+");
        for (int i = 0; i < words.length; i++) {
            String wd = words[i];
            if (wd.isEmpty()) {
                continue;
            }
            String kv;
            if (wd.equals("-c") && i + 1 < words.length) {
                kv = words[++i];
            } else if (wd.startsWith("-c")) {
                kv = wd.substring(2);
            } else if (wd.startsWith("--")) {
                kv = wd.substring(2);
            } else {
                return false;
            }
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                return false;
            }
            into.put(kv.substring(0, eq).replace('-', '_'), kv.substring(eq + 1));
        }
        return true;
    }
}
