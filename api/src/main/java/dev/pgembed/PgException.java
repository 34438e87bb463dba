package dev.pgembed;

import dev.pgembed.internal.bindings.PgEmbeddedH;
import java.io.Serial;
import java.lang.foreign.MemorySegment;
import org.jspecify.annotations.Nullable;

/**
 * An error reported by PostgreSQL (or by pgembed in PostgreSQL's terms), with its SQLSTATE and the
 * fields of PostgreSQL's error report.
 *
 * <p>{@link #getMessage()} is the primary message; {@link #toString()} adds severity and SQLSTATE.
 */
public final class PgException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final String sqlState;
    private final String severity;
    private final @Nullable String detail;
    private final @Nullable String hint;
    private final int position;
    private final @Nullable String context;
    private final @Nullable String schema;
    private final @Nullable String table;
    private final @Nullable String column;
    private final @Nullable String datatype;
    private final @Nullable String constraint;
    private final boolean fatal;
    /* set once, before it is thrown, for the error of a batch */
    private long batchIndex = -1;

    PgException(String sqlState, String message) {
        this(sqlState, "ERROR", message, null, null, 0, null, null, null, null, null, null, false, null);
    }

    PgException(String sqlState, String message, Throwable cause) {
        this(sqlState, "ERROR", message, null, null, 0, null, null, null, null, null, null, false, cause);
    }

    private PgException(
            String sqlState,
            String severity,
            String message,
            String detail,
            String hint,
            int position,
            String context,
            String schema,
            String table,
            String column,
            String datatype,
            String constraint,
            boolean fatal,
            Throwable cause) {
        super(message, cause);
        this.sqlState = sqlState;
        this.severity = severity;
        this.detail = detail;
        this.hint = hint;
        this.position = position;
        this.context = context;
        this.schema = schema;
        this.table = table;
        this.column = column;
        this.datatype = datatype;
        this.constraint = constraint;
        this.fatal = fatal;
    }

    /** Copies an error out of native memory (before the result owning it is freed). */
    static PgException fromNative(MemorySegment error, boolean fatal) {
        if (error == null || error.address() == 0) {
            return new PgException(
                    fatal ? "57P01" : "XX000",
                    fatal ? "FATAL" : "ERROR",
                    fatal ? "the database engine ended" : "unknown error",
                    null,
                    null,
                    0,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    fatal,
                    null);
        }
        String sqlState = field(error, 'C');
        String severity = field(error, 'V');
        if (severity == null) {
            severity = field(error, 'S');
        }
        String message = field(error, 'M');
        String pos = field(error, 'P');
        int position = 0;
        if (pos != null) {
            try {
                position = Integer.parseInt(pos.trim());
            } catch (NumberFormatException ignored) {
                // leave 0
            }
        }
        boolean isFatal = fatal || "FATAL".equals(severity) || "PANIC".equals(severity);
        return new PgException(
                sqlState != null ? sqlState : "XX000",
                severity != null ? severity : "ERROR",
                message != null ? message : "",
                field(error, 'D'),
                AddonHint.of(sqlState, message, field(error, 'H')),
                position,
                field(error, 'W'),
                field(error, 's'),
                field(error, 't'),
                field(error, 'c'),
                field(error, 'd'),
                field(error, 'n'),
                isFatal,
                null);
    }

    static String field(MemorySegment error, char code) {
        MemorySegment v = PgEmbeddedH.pgembed_error_field(error, (byte) code);
        return v.address() == 0 ? null : v.getString(0);
    }

    /** {@return the SQLSTATE code, for example {@code 23505}} */
    public String sqlState() {
        return sqlState;
    }

    /** {@return the severity: {@code ERROR}, {@code FATAL} or {@code PANIC}} */
    public String severity() {
        return severity;
    }

    /** {@return the detail message, or null} */
    public @Nullable String detail() {
        return detail;
    }

    /** {@return the hint, or null} */
    public @Nullable String hint() {
        return hint;
    }

    /** {@return the 1-based character position of the error in the statement text, or 0 when not given} */
    public int position() {
        return position;
    }

    /** {@return where the error happened (PL/pgSQL call stack, ...), or null} */
    public @Nullable String context() {
        return context;
    }

    /** {@return the schema of the object concerned, or null} */
    public @Nullable String schema() {
        return schema;
    }

    /** {@return the table concerned, or null} */
    public @Nullable String table() {
        return table;
    }

    /** {@return the column concerned, or null} */
    public @Nullable String column() {
        return column;
    }

    /** {@return the data type concerned, or null} */
    public @Nullable String datatype() {
        return datatype;
    }

    /** {@return the constraint that was violated, or null} */
    public @Nullable String constraint() {
        return constraint;
    }

    /** {@return true for SQLSTATE 23505 (unique_violation)} */
    public boolean isUniqueViolation() {
        return "23505".equals(sqlState);
    }

    /** {@return true for SQLSTATE 23503 (foreign_key_violation)} */
    public boolean isForeignKeyViolation() {
        return "23503".equals(sqlState);
    }

    /** {@return true for SQLSTATE 42601 (syntax_error)} */
    public boolean isSyntaxError() {
        return "42601".equals(sqlState);
    }

    /** {@return true for SQLSTATE 57014 (query_canceled): {@link PgEmbedded#cancel()} or statement_timeout} */
    public boolean isQueryCanceled() {
        return "57014".equals(sqlState);
    }

    /** {@return true for SQLSTATE 40001 (serialization_failure): retry the transaction} */
    public boolean isSerializationFailure() {
        return "40001".equals(sqlState);
    }

    /**
     * {@return true when the database engine ended with this error: the instance is closed; open the database
     * again}
     */
    public boolean isFatal() {
        return fatal;
    }

    /**
     * For the error of {@link PreparedStatement#executeBatch}: the index of the parameter set whose execution
     * failed (the sets before it ran, and were undone with it); -1 for any other error.
     *
     * @return the index of the failing parameter set, or -1
     */
    public long batchIndex() {
        return batchIndex;
    }

    /* the failing set of a batch, when the native result names one */
    PgException inBatch(long index) {
        batchIndex = index;
        return this;
    }

    @Override
    public String toString() {
        return getClass().getName() + ": " + severity + " " + sqlState + ": " + getMessage()
                + (detail != null ? " (detail: " + detail + ")" : "");
    }
}
