package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/* The session's reused parameter memory: what it holds is what the arena path writes; taken, it refuses */
class ParamBufferTest {
    @Test
    void holdsWhatTheArenaPathWritesAndRefusesWhileTaken() {
        Params.Encoded e = Params.encode(new Object[] {42, null, "text", -7L, new byte[] {1, 0, 2}});
        ParamBuffer b = new ParamBuffer();
        Params.Native p = b.take(e);
        assertThat(p).isNotNull();
        // a call nested in the downcall (a log upcall) gets nothing: it takes an arena of its own
        assertThat(b.take(e)).isNull();
        try (Arena arena = Arena.ofConfined()) {
            Params.Native q = Params.toNative(arena, e.types, e.values, e.formats, true);
            assertThat(values(p)).containsExactly(values(q));
        }
        b.release();
        assertThat(b.take(e)).isNotNull();
        b.release();
    }

    @Test
    void valuesBeyondItsCapacityAreRefused() {
        Params.Encoded e = Params.encode(new Object[] {"x".repeat((int) ParamBuffer.CAPACITY)});
        assertThat(new ParamBuffer().take(e)).isNull();
    }

    /* each parameter as "length/format/type/bytes" read back from native memory */
    private static String[] values(Params.Native p) {
        String[] r = new String[p.count()];
        for (int i = 0; i < p.count(); i++) {
            int len = p.lengths().getAtIndex(ValueLayout.JAVA_INT, i);
            MemorySegment v = p.values().getAtIndex(ValueLayout.ADDRESS, i);
            String bytes = len < 0
                    ? "null"
                    : java.util.Arrays.toString(v.reinterpret(len).toArray(ValueLayout.JAVA_BYTE));
            r[i] = len + "/" + p.formats().getAtIndex(ValueLayout.JAVA_INT, i) + "/"
                    + p.types().getAtIndex(ValueLayout.JAVA_INT, i) + "/" + bytes;
        }
        return r;
    }
}
