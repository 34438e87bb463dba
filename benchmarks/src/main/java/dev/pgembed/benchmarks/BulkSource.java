package dev.pgembed.benchmarks;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** The bulk-load rows as COPY text format ({@code id \t n \t text \n}), produced as they are read. */
final class BulkSource extends InputStream {
    private final int rows;
    private int next = 1;
    private byte[] line = new byte[0];
    private int pos;

    BulkSource(int rows) {
        this.rows = rows;
    }

    private boolean fill() {
        if (next > rows) {
            return false;
        }
        int i = next++;
        line = (i + "\t" + Workloads.bulkN(i) + "\t" + Workloads.bulkText(i) + "\n").getBytes(StandardCharsets.UTF_8);
        pos = 0;
        return true;
    }

    @Override
    public int read() {
        if (pos >= line.length && !fill()) {
            return -1;
        }
        return line[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        if (len == 0) {
            return 0;
        }
        int n = 0;
        while (n < len) {
            if (pos >= line.length && !fill()) {
                break;
            }
            int k = Math.min(len - n, line.length - pos);
            System.arraycopy(line, pos, b, off + n, k);
            pos += k;
            n += k;
        }
        return n == 0 ? -1 : n;
    }
}
