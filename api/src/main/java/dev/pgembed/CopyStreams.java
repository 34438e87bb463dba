package dev.pgembed;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The data of COPY as the engine sees it (chunks of bytes in the session's encoding, UTF-8) and as the
 * caller gives or takes it: a {@link Source} of chunks for COPY FROM STDIN, a {@link Sink} of chunks for
 * COPY TO STDOUT, and the two transcoders between them and character streams.
 */
final class CopyStreams {
    private CopyStreams() {}

    /** COPY FROM STDIN's data: fills {@code buf} (64 KiB) from its start; -1 at the end, 0 for nothing yet. */
    @FunctionalInterface
    interface Source {
        int read(byte[] buf) throws IOException;
    }

    /** COPY TO STDOUT's data: the first {@code n} bytes of {@code b}, one chunk at a time. */
    @FunctionalInterface
    interface Sink {
        void write(byte[] b, int n) throws IOException;
    }

    /**
     * A Reader as UTF-8 chunks. A chunk never ends between the two halves of a surrogate pair: a trailing
     * high surrogate is carried over to the next chunk, so the pair is encoded as one character; a surrogate
     * without its other half fails the COPY (22021) instead of becoming '?'.
     */
    static final class ReaderSource implements Source {
        private final Reader in;
        /* 16 Ki chars encode to at most 48 KiB of UTF-8 (3 bytes a char, 4 a pair): they fit in the 64 KiB buffer */
        private final char[] chars = new char[16 * 1024];
        private char carry;
        private boolean hasCarry;

        ReaderSource(Reader in) {
            this.in = in;
        }

        @Override
        public int read(byte[] buf) throws IOException {
            int start = 0;
            if (hasCarry) {
                chars[0] = carry;
                start = 1;
                hasCarry = false;
            }
            int n = in.read(chars, start, chars.length - start);
            if (n < 0) {
                if (start == 0) {
                    return -1;
                }
                n = 0;
            }
            int len = start + n;
            if (len > 0 && Character.isHighSurrogate(chars[len - 1]) && n > 0) {
                carry = chars[len - 1];
                hasCarry = true;
                len--;
            }
            byte[] b = Utf8.encode(CharBuffer.wrap(chars, 0, len), "the COPY data");
            System.arraycopy(b, 0, buf, 0, b.length);
            return b.length;
        }
    }

    /**
     * UTF-8 chunks decoded to a Writer. A character split between two chunks is decoded whole: the bytes of
     * an incomplete sequence wait for the next chunk; malformed input becomes U+FFFD. {@link #finish()} ends
     * the stream (an incomplete sequence at the very end becomes U+FFFD) and flushes the writer.
     */
    static final class WriterSink implements Sink {
        private final Writer out;
        private final CharsetDecoder dec = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        private final CharBuffer chars = CharBuffer.allocate(64 * 1024);
        private ByteBuffer pending = ByteBuffer.allocate(0);

        WriterSink(Writer out) {
            this.out = out;
        }

        @Override
        public void write(byte[] b, int n) throws IOException {
            ByteBuffer in;
            if (pending.hasRemaining()) {
                in = ByteBuffer.allocate(pending.remaining() + n);
                in.put(pending).put(b, 0, n).flip();
            } else {
                in = ByteBuffer.wrap(b, 0, n);
            }
            while (true) {
                CoderResult cr = dec.decode(in, chars, false);
                chars.flip();
                out.write(chars.array(), 0, chars.limit());
                chars.clear();
                if (!cr.isOverflow()) {
                    break;
                }
            }
            pending = ByteBuffer.allocate(in.remaining()).put(in).flip();
        }

        void finish() throws IOException {
            if (pending.hasRemaining()) {
                out.write('\uFFFD');
            }
            out.flush();
        }
    }
}
