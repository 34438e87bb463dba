package dev.pgembed.jdbc;

import dev.pgembed.internal.EngineBridge;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/*
 * Session-level advisory locks and cursors WITH HOLD outlive a transaction, and with one shared backend another
 * connection would see them (its pg_try_advisory_lock would succeed, since the lock is the same session's), or
 * the hand-over would close the cursor under its owner: while a connection holds any, it keeps the turn
 * (EngineBridge.HELD), so others wait for it as separate sessions wait for the lock. (Temporary tables do not keep
 * the turn: a pool's connection that keeps one would block every other for good; they are dropped at the
 * hand-over instead, see Backend.) Looked for only after a statement whose text names one of them
 * (Wire.sessionHints), and after every exchange while held; on the turn, the backend idle.
 */
final class HeldState {
    private static final System.Logger LOG = System.getLogger("dev.pgembed.jdbc");
    /* what a connection holds that outlives a transaction and keeps the turn */
    static final String QUERY = "SELECT (SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype ="
            + " 'advisory' AND pid = pg_catalog.pg_backend_pid() AND granted), (SELECT count(*) FROM"
            + " pg_catalog.pg_cursors WHERE is_holdable)";
    private static final String[] WHAT = {"session-level advisory lock", "cursor WITH HOLD"};

    private HeldState() {}

    /*
     * Looks on the shared backend (idle, on token's turn) for what the connection holds; tells the token, and
     * returns EngineBridge.HELD or IDLE. When the look fails, the state stays what it was (pinned or not).
     */
    static int look(Backend backend, MemorySegment engine, EngineBridge.Token token, boolean pinned) {
        Wire.Reply q = backend.simpleQuery(engine, QUERY);
        if (q.error != null || q.results.isEmpty() || q.results.get(0).isEmpty()) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "pgembed-jdbc: could not look for session-scoped state of " + token + ": " + q.errorText());
            return pinned ? EngineBridge.HELD : EngineBridge.IDLE;
        }
        String[] row = q.results.get(0).get(0);
        List<String> held = new ArrayList<>();
        for (int i = 0; i < WHAT.length; i++) {
            long n = Long.parseLong(row[i]);
            if (n > 0) {
                held.add(n + " " + WHAT[i] + (n > 1 ? "s" : ""));
            }
        }
        boolean holds = !held.isEmpty();
        token.holding(holds ? String.join(", ", held) : null);
        return holds ? EngineBridge.HELD : EngineBridge.IDLE;
    }
}
