package dev.pgembed;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Java text as the UTF-8 that PostgreSQL receives, strictly. The JDK's encoder writes '?' for a surrogate
 * without its other half (a String cut in the middle of a pair, a char computed wrongly), so the database
 * would silently store other text than the caller gave; here that is an error, 22021 as PostgreSQL's own
 * for a character its encoding cannot hold.
 */
final class Utf8 {
    private Utf8() {}

    /**
     * The UTF-8 bytes of {@code s}.
     *
     * @param what names the text in the error ("parameter $2", "the SQL text")
     * @throws PgException 22021 when {@code s} holds an unpaired surrogate
     */
    static byte[] encode(CharSequence s, String what) {
        int bad = unpairedSurrogate(s);
        if (bad >= 0) {
            throw new PgException(
                    "22021",
                    what + " contains an unpaired UTF-16 surrogate (\\u"
                            + Integer.toHexString(s.charAt(bad)).toUpperCase() + " at index " + bad
                            + "), which has no UTF-8 form");
        }
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * {@code s} as a NUL-terminated C string in {@code arena}.
     *
     * @throws PgException 22021 when {@code s} holds an unpaired surrogate or a NUL character (a C string
     *                     would end there: the rest of the text would be dropped without a word)
     */
    static MemorySegment cString(Arena arena, String s, String what) {
        byte[] b = encode(s, what);
        for (int i = 0; i < b.length; i++) {
            if (b[i] == 0) {
                throw new PgException(
                        "22021",
                        what + " contains a NUL character (at byte " + i + "), which PostgreSQL text cannot hold");
            }
        }
        MemorySegment m = arena.allocate(b.length + 1L);
        MemorySegment.copy(b, 0, m, ValueLayout.JAVA_BYTE, 0, b.length);
        m.set(ValueLayout.JAVA_BYTE, b.length, (byte) 0);
        return m;
    }

    /* the index of the first surrogate that is not half of a pair, or -1 */
    static int unpairedSurrogate(CharSequence s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            }
        }
        return -1;
    }
}
