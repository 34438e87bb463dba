package dev.pgembed;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

/*
 * What a prepared statement's last result looked like: its column list and its command tag, as Java
 * objects. A new result whose native columns (name bytes, type, typmod, format) and tag are byte for byte
 * those of the last one shares them instead of decoding them again; a result that differs (after ALTER
 * TABLE, a replanned statement, another row count in the tag) is decoded and becomes the last one. Nothing is
 * assumed about the statement: every result is compared with what it holds. Columns, Strings and the types
 * array are never changed after they are made, so a result that shares them cannot tell, and an older
 * result keeps what it had. Used under the session's lock (results are made in NativeSession's calls).
 */
final class ResultShape {
    /* all memory: reads the native columns and tag at their addresses, without a segment per read */
    private static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private static final long NAME = dev.pgembed.internal.bindings.pgembed_field.name$offset();
    private static final long TYPE = dev.pgembed.internal.bindings.pgembed_field.type$offset();
    private static final long TYPMOD = dev.pgembed.internal.bindings.pgembed_field.typmod$offset();
    private static final long FORMAT = dev.pgembed.internal.bindings.pgembed_field.format$offset();

    /** The columns of a result and the UTF-8 bytes of their names; never changed once made. */
    static final class Columns {
        final List<Column> list;
        final int[] types;
        private final byte[][] names;

        /* kept: whether a later result may be compared with these (their names' bytes are kept then) */
        Columns(List<Column> list, int[] types, boolean kept) {
            this.list = list;
            this.types = types;
            names = kept ? new byte[list.size()][] : null;
            for (int i = 0; kept && i < names.length; i++) {
                names[i] = list.get(i).name().getBytes(StandardCharsets.UTF_8);
            }
        }

        /* true when the cols native fields at address fields are these columns */
        boolean sameAs(long fields, int cols) {
            if (names == null || cols != names.length) {
                return false;
            }
            for (int i = 0; i < cols; i++) {
                long f = fields + i * Result.FIELD_SIZE;
                Column c = list.get(i);
                if (EVERYTHING.get(ValueLayout.JAVA_INT, f + TYPE) != c.typeOid()
                        || EVERYTHING.get(ValueLayout.JAVA_INT, f + TYPMOD) != c.typmod()
                        || EVERYTHING.get(ValueLayout.JAVA_INT, f + FORMAT) != c.format()
                        || !sameString(EVERYTHING.get(ValueLayout.JAVA_LONG, f + NAME), names[i])) {
                    return false;
                }
            }
            return true;
        }
    }

    /* a command tag and its UTF-8 bytes */
    private record Tag(String text, byte[] bytes) {}

    private Columns columns;
    private Tag tag;

    /* the last columns when the result's native fields are the same, else null */
    Columns sameColumns(long fields, int cols) {
        Columns c = columns;
        return c != null && (cols == 0 || fields != 0) && c.sameAs(fields, cols) ? c : null;
    }

    void keepColumns(Columns c) {
        columns = c;
    }

    /* the last tag when the result's native tag (a NUL-terminated string) is the same, else null */
    String sameTag(long nativeTag) {
        Tag t = tag;
        return t != null && sameString(nativeTag, t.bytes()) ? t.text() : null;
    }

    void keepTag(String t) {
        tag = new Tag(t, t.getBytes(StandardCharsets.UTF_8));
    }

    /* true when the NUL-terminated string at address is exactly bytes */
    private static boolean sameString(long address, byte[] bytes) {
        if (address == 0) {
            return false;
        }
        for (int i = 0; i < bytes.length; i++) {
            if (EVERYTHING.get(ValueLayout.JAVA_BYTE, address + i) != bytes[i]) {
                return false;
            }
        }
        return EVERYTHING.get(ValueLayout.JAVA_BYTE, address + bytes.length) == 0;
    }
}
