package dev.pgembed.jdbc;

import dev.pgembed.internal.bindings.PgEmbeddedH;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Native buffers for {@code pgembed_protocol_exchange}; used only with the instance's lock held (one
 * exchange at a time per owner of this object).
 */
final class NativeExchange implements AutoCloseable {
    static final int WAITING = 0;
    static final int MORE = 1;
    static final int ENDED = -1;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment outPtr = arena.allocate(ValueLayout.ADDRESS);
    private final MemorySegment outLen = arena.allocate(ValueLayout.JAVA_LONG);
    private MemorySegment in = arena.allocate(8192);
    /* the output of the last exchange (valid until the next call on the engine) */
    MemorySegment out = MemorySegment.NULL;
    long outLength;

    /** Sends len bytes of b (complete messages; 0 to continue paused output); the output lands in {@link #out}. */
    int exchange(MemorySegment engine, byte[] b, int off, int len) {
        if (len > in.byteSize()) {
            in = arena.allocate(Math.max(len, in.byteSize() * 2));
        }
        if (len > 0) {
            MemorySegment.copy(b, off, in, ValueLayout.JAVA_BYTE, 0, len);
        }
        int rc = PgEmbeddedH.pgembed_protocol_exchange(engine, in, len, outPtr, outLen);
        outLength = outLen.get(ValueLayout.JAVA_LONG, 0);
        out = outLength == 0
                ? MemorySegment.NULL
                : outPtr.get(ValueLayout.ADDRESS, 0).reinterpret(outLength);
        return rc;
    }

    /** Appends the last output to buf. */
    void appendTo(Wire.Buf buf) {
        int n = Math.toIntExact(outLength);
        if (n > 0) {
            buf.ensure(n);
            MemorySegment.copy(out, ValueLayout.JAVA_BYTE, 0, buf.b, buf.len, n);
            buf.len += n;
        }
    }

    /** Sends b and collects all the output (continuing while the backend pauses) into buf; returns the last code. */
    int exchangeAll(MemorySegment engine, byte[] b, int off, int len, Wire.Buf buf) {
        int rc = exchange(engine, b, off, len);
        appendTo(buf);
        while (rc == MORE) {
            rc = exchange(engine, b, 0, 0);
            appendTo(buf);
        }
        return rc;
    }

    /** The transaction state after the last exchange (its return code rc). */
    int state(int rc) {
        if (rc == ENDED) {
            return dev.pgembed.internal.EngineBridge.ENDED;
        }
        if (rc == MORE || outLength < 6) {
            return dev.pgembed.internal.EngineBridge.BUSY;
        }
        byte[] tail = new byte[6];
        MemorySegment.copy(out, ValueLayout.JAVA_BYTE, outLength - 6, tail, 0, 6);
        return stateOf(rc, tail, 6);
    }

    /** The transaction state after output ending at the end of buf ({@link dev.pgembed.internal.EngineBridge} constants). */
    static int stateOf(int rc, byte[] b, int len) {
        if (rc == ENDED) {
            return dev.pgembed.internal.EngineBridge.ENDED;
        }
        if (rc == MORE || len < 6 || b[len - 6] != 'Z' || b[len - 2] != 5 || b[len - 3] != 0) {
            return dev.pgembed.internal.EngineBridge.BUSY;
        }
        return switch (b[len - 1]) {
            case 'I' -> dev.pgembed.internal.EngineBridge.IDLE;
            case 'T' -> dev.pgembed.internal.EngineBridge.IN_TRANSACTION;
            case 'E' -> dev.pgembed.internal.EngineBridge.FAILED;
            default -> dev.pgembed.internal.EngineBridge.BUSY;
        };
    }

    @Override
    public void close() {
        arena.close();
    }
}
