package dev.pgembed.jdbc;

import dev.pgembed.PgEmbedded;
import dev.pgembed.internal.EngineBridge;
import java.nio.charset.StandardCharsets;

/**
 * Follows the backend's replies to one connection message by message, across exchanges (a message may be cut
 * at the end of one exchange's output and go on in the next), and reports each statement's outcome to the
 * database's listeners ({@link dev.pgembed.PgEmbeddedListener}): {@code CommandComplete} and
 * {@code EmptyQueryResponse} as succeeded, {@code ErrorResponse} as failed with its SQLSTATE. It reads only the
 * five header bytes of other messages, skipping their bodies by their length.
 */
final class ReplyScanner {
    /* the SQLSTATE lies in the first fields of an ErrorResponse: more of its body is not kept */
    private static final int ERROR_PREFIX = 256;

    private final byte[] header = new byte[5];
    private int headerLen;
    private byte type;
    private long remaining = -1; // body bytes still to come; -1 while reading a header
    private final byte[] error = new byte[ERROR_PREFIX];
    private int errorLen;

    /**
     * Scans the next bytes of the backend's output and reports the statements they end.
     *
     * @param db  the database, to report to
     * @param b   the output
     * @param off where the new bytes start
     * @param len how many
     */
    void scan(PgEmbedded db, byte[] b, int off, int len) {
        int succeeded = 0;
        int p = off;
        int end = off + len;
        while (p < end) {
            if (remaining < 0) {
                int n = Math.min(5 - headerLen, end - p);
                System.arraycopy(b, p, header, headerLen, n);
                headerLen += n;
                p += n;
                if (headerLen < 5) {
                    break;
                }
                headerLen = 0;
                type = header[0];
                remaining = Wire.int32(header, 1) - 4L;
                errorLen = 0;
            } else {
                int n = (int) Math.min(remaining, end - p);
                if (type == 'E' && errorLen < ERROR_PREFIX) {
                    int keep = Math.min(n, ERROR_PREFIX - errorLen);
                    System.arraycopy(b, p, error, errorLen, keep);
                    errorLen += keep;
                }
                remaining -= n;
                p += n;
            }
            if (remaining == 0) {
                remaining = -1;
                switch (type) {
                    case 'C', 'I' -> succeeded++;
                    case 'E' -> EngineBridge.statementFailed(db, sqlState());
                    default -> {}
                }
            }
        }
        if (succeeded > 0) {
            EngineBridge.statementsSucceeded(db, succeeded);
        }
    }

    /* the 'C' field of the ErrorResponse body kept in error[] */
    private String sqlState() {
        int p = 0;
        while (p < errorLen && error[p] != 0) {
            byte field = error[p++];
            int start = p;
            while (p < errorLen && error[p] != 0) {
                p++;
            }
            if (field == 'C' && p < errorLen) {
                return new String(error, start, p - start, StandardCharsets.US_ASCII);
            }
            p++;
        }
        return "XX000"; // no SQLSTATE in the prefix: PostgreSQL always sends one, first after the severities
    }
}
