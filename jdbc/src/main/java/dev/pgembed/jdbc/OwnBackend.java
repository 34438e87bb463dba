package dev.pgembed.jdbc;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgSession;
import dev.pgembed.internal.EngineBridge;
import dev.pgembed.internal.bindings.PgEmbeddedH;
import java.io.IOException;

/*
 * A connection's backend of its own (PgEmbedded.Builder.backends, EngineBridge.openSession), started with the
 * client's start-up settings: the client's messages go to it as they are (no names to keep apart, no turn to
 * hand over, no settings to restore), and output it writes while idle (a notification, its FATAL when it was
 * terminated) can be waited for. The shared-backend path is WireSession's with Backend.
 */
final class OwnBackend {
    private static final byte[] NOTHING = new byte[0];

    private final PgSession session;
    private final EngineBridge.Token token;
    private final NativeExchange nat;
    /* a request of the connection runs on it now (for CancelRequest) */
    private volatile boolean running;
    /* the last exchange's output paused (NativeExchange.MORE): more of it before anything else */
    private boolean paused;

    OwnBackend(PgSession session, EngineBridge.Token token, NativeExchange nat) {
        this.session = session;
        this.token = token;
        this.nat = nat;
    }

    /* the REPORTED values (reportedQuery) into values and the backend's pid into pid[0], or the failure into error */
    int startup(String reportedQuery, String[] values, String[] error, int[] pid) throws IOException {
        return EngineBridge.run(session, token, engine -> {
            Wire.Reply q = Backend.simpleQuery(nat, engine, reportedQuery);
            if (q.error != null || q.results.isEmpty() || q.results.get(0).isEmpty()) {
                error[0] = q.error != null ? q.error.getOrDefault('C', "XX000") : "XX000";
                error[1] = q.error != null ? q.error.getOrDefault('M', "?") : "no start-up values";
                return EngineBridge.IDLE;
            }
            System.arraycopy(q.results.get(0).get(0), 0, values, 0, StartupPacket.REPORTED.length);
            pid[0] = PgEmbeddedH.pgembed_backend_pid(engine);
            return EngineBridge.IDLE;
        });
    }

    /* sends len bytes of data (complete messages; 0 to continue paused output), the replies appended to out */
    int exchange(byte[] data, int len, Wire.Buf out, ReplyScanner replies, PgEmbedded db) throws IOException {
        return EngineBridge.run(session, token, engine -> {
            running = true;
            int rc;
            try {
                rc = nat.exchange(engine, data, 0, len);
            } finally {
                running = false;
            }
            int from = out.len;
            nat.appendTo(out);
            replies.scan(db, out.b, from, out.len - from);
            paused = rc == NativeExchange.MORE;
            return nat.state(rc);
        });
    }

    /*
     * Waits at most timeoutMs for output the idle backend writes by itself and appends it to out; returns the
     * transaction state, state unless the backend ended or paused its output (idle output carries no
     * ReadyForQuery). Holds the backend's turn meanwhile.
     */
    int awaitOutput(int timeoutMs, int state, Wire.Buf out) throws IOException {
        return EngineBridge.run(session, token, engine -> {
            if (PgEmbeddedH.pgembed_wait_output(engine, timeoutMs) == 0) {
                return state;
            }
            int rc = nat.exchange(engine, NOTHING, 0, 0);
            nat.appendTo(out);
            paused = rc == NativeExchange.MORE;
            return rc == NativeExchange.ENDED ? EngineBridge.ENDED : paused ? EngineBridge.BUSY : state;
        });
    }

    /* whether the last exchange paused its output */
    boolean paused() {
        return paused;
    }

    /* interrupts the connection's running request, if one runs; any thread */
    void cancelIfRunning() {
        if (running) {
            session.cancel();
        }
    }

    /* the backend ends: an open transaction is rolled back with it */
    void close() {
        session.close();
    }
}
