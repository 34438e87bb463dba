package dev.pgembed.jdbc;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Frontend/backend protocol helpers: building messages, reading the replies of internal queries. */
final class Wire {
    private Wire() {}

    /** A growable byte buffer. */
    static final class Buf {
        byte[] b;
        int len;

        Buf(int cap) {
            b = new byte[cap];
        }

        void ensure(int extra) {
            int need = len + extra;
            if (need > b.length) {
                b = Arrays.copyOf(b, Math.max(need, b.length * 2));
            }
        }

        Buf put(int v) {
            ensure(1);
            b[len++] = (byte) v;
            return this;
        }

        Buf put(byte[] src, int off, int n) {
            ensure(n);
            System.arraycopy(src, off, b, len, n);
            len += n;
            return this;
        }

        Buf int32(int v) {
            ensure(4);
            b[len] = (byte) (v >>> 24);
            b[len + 1] = (byte) (v >>> 16);
            b[len + 2] = (byte) (v >>> 8);
            b[len + 3] = (byte) v;
            len += 4;
            return this;
        }

        Buf cstr(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            put(u, 0, u.length);
            return put(0);
        }

        /* begins a message; returns the position of its length word, for end() */
        int begin(char type) {
            put(type);
            int at = len;
            int32(0);
            return at;
        }

        void end(int at) {
            int n = len - at;
            b[at] = (byte) (n >>> 24);
            b[at + 1] = (byte) (n >>> 16);
            b[at + 2] = (byte) (n >>> 8);
            b[at + 3] = (byte) n;
        }

        void clear() {
            len = 0;
        }

        byte[] toArray() {
            return Arrays.copyOf(b, len);
        }
    }

    static int int32(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }

    static int int16(byte[] b, int at) {
        return ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
    }

    /* end (exclusive) of the NUL-terminated string at 'at' */
    static int cstrEnd(byte[] b, int at, int limit) {
        int i = at;
        while (i < limit && b[i] != 0) {
            i++;
        }
        return i;
    }

    static byte[] query(String sql) {
        Buf m = new Buf(sql.length() + 16);
        int at = m.begin('Q');
        m.cstr(sql);
        m.end(at);
        return m.toArray();
    }

    static void errorResponse(Buf out, String severity, String sqlState, String message) {
        int at = out.begin('E');
        out.put('S').cstr(severity);
        out.put('V').cstr(severity);
        out.put('C').cstr(sqlState);
        out.put('M').cstr(message);
        out.put(0);
        out.end(at);
    }

    static void readyForQuery(Buf out, char status) {
        int at = out.begin('Z');
        out.put(status);
        out.end(at);
    }

    /*
     * Answers the messages in 'in' with the error, as a backend skips to Sync after an error; true when the last
     * ones were answered up to no Sync (the client's Sync, still to come, ends the skipping)
     */
    static boolean failBatch(Buf in, Buf r, String sqlState, String msg) {
        boolean erred = false;
        int p = 0;
        while (p + 5 <= in.len) {
            char type = (char) in.b[p];
            p += 1 + int32(in.b, p + 1);
            if (type == 'S' || type == 'Q') {
                if (!erred) {
                    errorResponse(r, "ERROR", sqlState, msg);
                }
                readyForQuery(r, 'I');
                erred = false;
            } else if (!erred && type != 'H') {
                errorResponse(r, "ERROR", sqlState, msg);
                erred = true;
            }
        }
        return erred;
    }

    static void parameterStatus(Buf out, String name, String value) {
        int at = out.begin('S');
        out.cstr(name).cstr(value);
        out.end(at);
    }

    /** SQL string literal (standard_conforming_strings is on). */
    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    static String identifier(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    /** The replies to an internal simple query: the rows of each result (text), the first error. */
    static final class Reply {
        final List<List<String[]>> results = new ArrayList<>();
        Map<Character, String> error;

        String errorText() {
            return error == null ? null : error.getOrDefault('C', "XX000") + " " + error.getOrDefault('M', "?");
        }
    }

    static Reply parse(byte[] b, int off, int len) {
        Reply r = new Reply();
        List<String[]> current = null;
        int p = off;
        int end = off + len;
        while (p + 5 <= end) {
            char type = (char) b[p];
            int mlen = int32(b, p + 1);
            int body = p + 5;
            int next = p + 1 + mlen;
            if (next > end) {
                break;
            }
            switch (type) {
                case 'T' -> {
                    current = new ArrayList<>();
                    r.results.add(current);
                }
                case 'D' -> {
                    int n = int16(b, body);
                    String[] row = new String[n];
                    int q = body + 2;
                    for (int i = 0; i < n; i++) {
                        int l = int32(b, q);
                        q += 4;
                        if (l >= 0) {
                            row[i] = new String(b, q, l, StandardCharsets.UTF_8);
                            q += l;
                        }
                    }
                    if (current != null) {
                        current.add(row);
                    }
                }
                case 'E' -> {
                    if (r.error == null) {
                        Map<Character, String> f = new LinkedHashMap<>();
                        int q = body;
                        while (q < next && b[q] != 0) {
                            char code = (char) b[q];
                            int e = cstrEnd(b, q + 1, next);
                            f.put(code, new String(b, q + 1, e - q - 1, StandardCharsets.UTF_8));
                            q = e + 1;
                        }
                        r.error = f;
                    }
                }
                default -> {}
            }
            p = next;
        }
        return r;
    }

    /**
     * A PostgreSQL time setting (lock_timeout, statement_timeout) in milliseconds: a bare number is milliseconds
     * (pg_settings' unit for both), else a number with us, ms, s, min, h or d; 0 for none or what does not parse.
     */
    static long milliseconds(String value) {
        if (value == null) {
            return 0;
        }
        String v = value.trim().toLowerCase(java.util.Locale.ROOT);
        int i = 0;
        while (i < v.length() && (Character.isDigit(v.charAt(i)) || v.charAt(i) == '.')) {
            i++;
        }
        if (i == 0) {
            return 0;
        }
        double n;
        try {
            n = Double.parseDouble(v.substring(0, i));
        } catch (NumberFormatException e) {
            return 0;
        }
        double factor = switch (v.substring(i).trim()) {
            case "", "ms" -> 1;
            case "us" -> 0.001;
            case "s" -> 1000;
            case "min" -> 60_000;
            case "h" -> 3_600_000;
            case "d" -> 86_400_000;
            default -> 0;
        };
        double ms = n * factor;
        return ms <= 0 ? 0 : Math.max(1, (long) Math.min(ms, Long.MAX_VALUE / 2.0));
    }

    /** {@link #sessionHints}: the statement may take state that outlives its transaction (see WireSession). */
    static final int HINT_HELD = 1;
    /** {@link #sessionHints}: the statement may change settings, LISTENs or SQL-level prepared statements. */
    static final int HINT_SETTINGS = 2;

    /** {@link #sessionHints}: the statement may LISTEN or UNLISTEN (DISCARD ALL does UNLISTEN *). */
    static final int HINT_LISTEN = 4;

    private static final String[] HELD_WORDS = {"advisory", "hold"};
    private static final String[] SETTINGS_WORDS = {"set", "discard", "prepare", "deallocate", "temp"};
    private static final String[] LISTEN_WORDS = {"listen"};
    private static final String[] DISCARD_WORDS = {"discard"};

    /**
     * What a statement's text may change of its session that outlives the statement, by the words it contains
     * (ASCII, any case, anywhere: in identifiers and literals too, so a false alarm only costs a look, see
     * WireSession): {@link #HINT_HELD} for advisory locks ({@code pg_advisory_lock}) and cursors WITH HOLD;
     * {@link #HINT_SETTINGS} for SET, RESET, set_config, DISCARD, PREPARE, DEALLOCATE and temporary tables (the
     * full hand-over drops them); {@link #HINT_LISTEN} for LISTEN, UNLISTEN and DISCARD (DISCARD ALL ends the
     * session's LISTENs: without the hint the backend would listen on the connection's old channels again,
     * see WireSession). A setting changed inside a function whose call names
     * none of these words is not noticed.
     */
    static int sessionHints(byte[] b, int from, int to) {
        int hints = 0;
        for (int i = from; i < to; i++) {
            int c = b[i] | 0x20;
            if ((hints & HINT_HELD) == 0 && (c == 'a' || c == 'h') && startsWithAny(b, i, to, HELD_WORDS)) {
                hints |= HINT_HELD;
            } else if ((hints & HINT_SETTINGS) == 0
                    && (c == 's' || c == 'd' || c == 'p' || c == 't')
                    && startsWithAny(b, i, to, SETTINGS_WORDS)) {
                hints |= HINT_SETTINGS;
            } else if ((hints & HINT_LISTEN) == 0 && c == 'l' && startsWithAny(b, i, to, LISTEN_WORDS)) {
                hints |= HINT_LISTEN;
            }
            if ((hints & HINT_LISTEN) == 0 && c == 'd' && startsWithAny(b, i, to, DISCARD_WORDS)) {
                hints |= HINT_LISTEN;
            }
            if (hints == (HINT_HELD | HINT_SETTINGS | HINT_LISTEN)) {
                break;
            }
        }
        return hints;
    }

    private static boolean startsWithAny(byte[] b, int at, int to, String[] words) {
        for (String w : words) {
            int n = w.length();
            if (at + n > to) {
                continue;
            }
            int k = 0;
            while (k < n && (b[at + k] | 0x20) == w.charAt(k)) {
                k++;
            }
            if (k == n) {
                return true;
            }
        }
        return false;
    }
}
