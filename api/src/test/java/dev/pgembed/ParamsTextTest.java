package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/* The parameters' text written without the generic encoder: the bytes Long.toString and the UTF-8 path give */
class ParamsTextTest {
    @Test
    void decimalIsLongToStringNulTerminated() {
        long[] edges = {
            0,
            9,
            10,
            -1,
            -9,
            -10,
            99,
            100,
            Integer.MIN_VALUE,
            Integer.MAX_VALUE,
            Long.MIN_VALUE,
            Long.MAX_VALUE,
            Long.MIN_VALUE + 1,
            Short.MIN_VALUE
        };
        SplittableRandom rnd = new SplittableRandom(7);
        long[] all = Arrays.copyOf(edges, edges.length + 1000);
        for (int i = edges.length; i < all.length; i++) {
            all[i] = rnd.nextLong() >> rnd.nextInt(64);
        }
        for (long v : all) {
            byte[] expect = Arrays.copyOf(
                    Long.toString(v).getBytes(StandardCharsets.US_ASCII),
                    Long.toString(v).length() + 1);
            assertThat(Params.decimal(v)).as("%d", v).isEqualTo(expect);
            byte[] at = new byte[30];
            assertThat(Params.putDecimal(at, 3, v))
                    .isEqualTo(3 + Long.toString(v).length());
        }
    }

    @Test
    void asciiTextIsItsBytesAndOtherTextTakesTheUtf8Path() {
        assertThat(Params.nulTerminated("key-42", 1)).isEqualTo("key-42\0".getBytes(StandardCharsets.US_ASCII));
        assertThat(Params.nulTerminated("", 1)).isEqualTo(new byte[] {0});
        assertThat(Params.nulTerminated("grüße €", 1)).isEqualTo("grüße €\0".getBytes(StandardCharsets.UTF_8));
        assertThat(Params.putAscii(new byte[8], 0, "aé")).isEqualTo(-1);
        assertThat(Params.putAscii(new byte[8], 2, "abc")).isEqualTo(5);
    }
}
