package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * COPY's transcoders without a database: characters to UTF-8 chunks (copyIn with a Reader) and UTF-8
 * chunks to characters (copyOut with a Writer), with characters split at the edges of the chunks.
 */
class CopyStreamsTest {
    private static final String FACE = "\uD83D\uDE00"; // U+1F600, a surrogate pair, 4 bytes of UTF-8

    /* a Reader that gives its parts one read at a time (as much of a part as fits), so a test decides where reads end */
    private static Reader inParts(String... parts) {
        Deque<String> left = new ArrayDeque<>(List.of(parts));
        return new Reader() {
            @Override
            public int read(char[] buf, int off, int len) {
                if (left.isEmpty()) {
                    return -1;
                }
                String p = left.pop();
                int n = Math.min(len, p.length());
                p.getChars(0, n, buf, off);
                if (n < p.length()) {
                    left.push(p.substring(n));
                }
                return n;
            }

            @Override
            public void close() {}
        };
    }

    /* every chunk a source gives, until its end */
    private static List<byte[]> chunks(CopyStreams.Source source) throws IOException {
        List<byte[]> out = new ArrayList<>();
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = source.read(buf)) >= 0) {
            byte[] c = new byte[n];
            System.arraycopy(buf, 0, c, 0, n);
            out.add(c);
        }
        return out;
    }

    @Test
    void aSurrogatePairSplitBetweenTwoReadsIsEncodedAsOneCharacter() throws IOException {
        List<byte[]> c = chunks(new CopyStreams.ReaderSource(inParts("a" + FACE.charAt(0), FACE.charAt(1) + "b")));
        assertThat(c).extracting(b -> new String(b, StandardCharsets.UTF_8)).containsExactly("a", FACE + "b");
    }

    @Test
    void aReaderIsSentWhole() throws IOException {
        String text = "id\tname\n" + "1\tÄpfel " + FACE + "\n".repeat(3) + "x".repeat(40_000);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] b : chunks(new CopyStreams.ReaderSource(inParts(text.substring(0, 9), text.substring(9))))) {
            assertThat(b.length).isLessThanOrEqualTo(64 * 1024);
            all.write(b);
        }
        assertThat(all.toString(StandardCharsets.UTF_8)).isEqualTo(text);
    }

    /* it was sent as '?': the database stored other text than the Reader gave */
    @Test
    void aHighSurrogateLeftAtTheEndFailsTheCopy() {
        assertThatThrownBy(() -> chunks(new CopyStreams.ReaderSource(inParts("x" + FACE.charAt(0)))))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("22021"))
                .hasMessageContaining("unpaired UTF-16 surrogate");
    }

    @Test
    void aCharacterSplitBetweenTwoChunksIsDecodedWhole() throws IOException {
        byte[] b = ("é" + FACE).getBytes(StandardCharsets.UTF_8);
        StringWriter w = new StringWriter();
        CopyStreams.WriterSink sink = new CopyStreams.WriterSink(w);
        for (int i = 0; i < b.length; i++) {
            sink.write(new byte[] {b[i]}, 1); // one byte per chunk
        }
        sink.finish();
        assertThat(w).hasToString("é" + FACE);
    }

    @Test
    void malformedAndUnfinishedUtf8BecomeReplacementCharacters() throws IOException {
        StringWriter w = new StringWriter();
        CopyStreams.WriterSink sink = new CopyStreams.WriterSink(w);
        sink.write(new byte[] {'a', (byte) 0xFF, 'b', (byte) 0xE2, (byte) 0x82}, 5); // 0xE2 0x82: the start of '€'
        sink.finish();
        assertThat(w).hasToString("a\uFFFDb\uFFFD");
    }

    @Test
    void onlyTheGivenLengthOfAChunkIsDecoded() throws IOException {
        StringWriter w = new StringWriter();
        CopyStreams.WriterSink sink = new CopyStreams.WriterSink(w);
        sink.write("abcdef".getBytes(StandardCharsets.UTF_8), 3);
        sink.finish();
        assertThat(w).hasToString("abc");
    }
}
