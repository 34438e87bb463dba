package dev.pgembed;

import org.jspecify.annotations.Nullable;

/**
 * A NOTICE, WARNING, INFO (or other non-error) message raised by a statement, for example by
 * {@code RAISE NOTICE} in PL/pgSQL.
 *
 * @param severity the severity, for example {@code NOTICE} or {@code WARNING}
 * @param sqlState the SQLSTATE code, for example {@code 00000} or {@code 01000}
 * @param message  the primary message
 * @param detail   the detail message, or null
 * @param hint     the hint, or null
 */
public record Notice(
        String severity,
        String sqlState,
        String message,
        @Nullable String detail,
        @Nullable String hint) {
    @Override
    public String toString() {
        return severity + ": " + message + (detail != null ? " (" + detail + ")" : "");
    }
}
