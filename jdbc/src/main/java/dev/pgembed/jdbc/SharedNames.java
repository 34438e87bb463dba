package dev.pgembed.jdbc;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/*
 * The protocol-level names of one connection on the shared backend: its prepared statements and portals live in
 * the one session every such connection uses, so each message's names get the connection's prefix ("pgembed<id>_",
 * the unnamed ones stay unnamed: one at a time, on the turn), and the prepared statements it made are recorded, to
 * be closed when it ends. A connection with a backend of its own sends its names as they are.
 */
final class SharedNames {
    private final byte[] prefix;
    /* the connection's prepared statements, unprefixed (under the db's lock, in exchanges) */
    private final Set<String> statements = new HashSet<>();

    SharedNames(long connectionId) {
        prefix = ("pgembed" + connectionId + "_").getBytes(StandardCharsets.US_ASCII);
    }

    /*
     * Copies the message of the given type at [p, p + total) of b into in, prefixing prepared statement and portal
     * names; returns the Wire.sessionHints of the statement text it carries (Parse, Query), else 0.
     */
    int transform(byte[] b, int p, int total, char type, Wire.Buf in) {
        int end = p + total;
        int hints = 0;
        switch (type) {
            case 'P' -> { // Parse: name, query, types
                int nameEnd = Wire.cstrEnd(b, p + 5, end);
                if (nameEnd > p + 5) {
                    statements.add(new String(b, p + 5, nameEnd - p - 5, StandardCharsets.UTF_8));
                }
                hints = Wire.sessionHints(b, nameEnd + 1, Wire.cstrEnd(b, nameEnd + 1, end));
                renamed(b, p, end, type, p + 5, nameEnd, -1, -1, 0, in);
            }
            case 'B' -> { // Bind: portal, statement, ...
                int portalEnd = Wire.cstrEnd(b, p + 5, end);
                int stmtEnd = Wire.cstrEnd(b, portalEnd + 1, end);
                renamed(b, p, end, type, p + 5, portalEnd, portalEnd + 1, stmtEnd, 0, in);
            }
            case 'D', 'C' -> { // Describe/Close: 'S'|'P', name
                int nameEnd = Wire.cstrEnd(b, p + 6, end);
                if (type == 'C' && b[p + 5] == 'S' && nameEnd > p + 6) {
                    statements.remove(new String(b, p + 6, nameEnd - p - 6, StandardCharsets.UTF_8));
                }
                renamed(b, p, end, type, p + 6, nameEnd, -1, -1, 1, in);
            }
            case 'E' -> { // Execute: portal, max rows
                int nameEnd = Wire.cstrEnd(b, p + 5, end);
                renamed(b, p, end, type, p + 5, nameEnd, -1, -1, 0, in);
            }
            case 'Q' -> {
                hints = Wire.sessionHints(b, p + 5, end - 1);
                in.put(b, p, total);
            }
            default -> in.put(b, p, total);
        }
        return hints;
    }

    /*
     * Copies the message at [p, end) with the name [s1, e1) (and [s2, e2) unless s2 < 0) prefixed when not
     * empty; 'lead' bytes follow the length word before the first name.
     */
    private void renamed(byte[] b, int p, int end, char type, int s1, int e1, int s2, int e2, int lead, Wire.Buf in) {
        boolean r1 = e1 > s1;
        boolean r2 = s2 >= 0 && e2 > s2;
        if (!r1 && !r2) {
            in.put(b, p, end - p);
            return;
        }
        int at = in.begin(type);
        in.put(b, p + 5, lead);
        if (r1) {
            in.put(prefix, 0, prefix.length);
        }
        if (s2 < 0) {
            in.put(b, s1, end - s1);
        } else {
            in.put(b, s1, s2 - s1);
            if (r2) {
                in.put(prefix, 0, prefix.length);
            }
            in.put(b, s2, end - s2);
        }
        in.end(at);
    }

    /* whether the connection has prepared statements left on the backend */
    boolean any() {
        return !statements.isEmpty();
    }

    /* Close messages for the connection's prepared statements, and a Sync */
    Wire.Buf closeMessages() {
        Wire.Buf m = new Wire.Buf(64 + statements.size() * 32);
        for (String s : statements) {
            int at = m.begin('C');
            m.put('S');
            m.put(prefix, 0, prefix.length);
            m.cstr(s);
            m.end(at);
        }
        int at = m.begin('S');
        m.end(at);
        return m;
    }

    /* the backend closed them, or will (Backend.endedElsewhere) */
    void forget() {
        statements.clear();
    }
}
