package dev.pgembed.jdbc;

/**
 * A password exchange WireSession runs between the start-up packet and AuthenticationOk (serve mode over TCP); one
 * object per connection.
 */
interface Authentication {
    /** Appends the first authentication request to out; user is the start-up packet's (for messages). */
    void start(String user, Wire.Buf out);

    /**
     * Handles the body of one password-type message ('p') and appends the next request to out.
     *
     * @return true once the client is authenticated
     * @throws Failure when the client failed (its SQLSTATE and message are sent as FATAL)
     */
    boolean respond(byte[] b, int off, int len, Wire.Buf out) throws Failure;

    /** A failed authentication. */
    final class Failure extends Exception {
        final String sqlState;

        Failure(String sqlState, String message) {
            super(message, null, false, false);
            this.sqlState = sqlState;
        }
    }
}
