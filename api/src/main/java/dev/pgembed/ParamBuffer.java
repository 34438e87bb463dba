package dev.pgembed;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/*
 * A session's native memory for the parameters of a prepared statement's execution, reused from call to
 * call: a confined arena per call (its set-up, a malloc, a free and its close) cost more than the call's
 * Java side otherwise does. The native side reads the parameters during the downcall only (the arena of the
 * slow path was closed right after it), so one buffer per session suffices; a call made while it is taken
 * (a log upcall that re-enters the session during the downcall) and values that do not fit use an arena of
 * their own. Used under the session's lock, as every NativeSession method is.
 */
final class ParamBuffer {
    /* the values of a few scalars and short texts fit; longer ones take the arena path */
    static final long CAPACITY = 4096;

    private final MemorySegment slab = Arena.ofAuto().allocate(CAPACITY, 8);
    private boolean taken;
    /* the layout of the last count of parameters (the same statement runs again and again) */
    private Params.Native last;

    /* the parameters written into the buffer, now taken until release(); null when it cannot take them */
    Params.Native take(Params.Encoded e) {
        int n = e.values.length;
        if (taken || n == 0 || Params.nativeSize(e.values, true) > CAPACITY) {
            return null;
        }
        Params.Native p = last;
        if (p == null || p.count() != n) {
            p = Params.layout(slab, n, true);
            last = p;
        }
        Params.fill(p, slab, e.types, e.values, e.formats);
        taken = true;
        return p;
    }

    void release() {
        taken = false;
    }
}
