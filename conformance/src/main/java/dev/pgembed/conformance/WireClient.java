package dev.pgembed.conformance;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal client of PostgreSQL's frontend/backend protocol 3.0: the simple query protocol with text
 * results and COPY, like psql uses. (pgjdbc cannot serve here: it closes the connection when a test sets
 * {@code DateStyle} to anything but ISO, and the regression suite runs with {@code Postgres, MDY}.)
 */
final class WireClient implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final String host;
    private final int port;
    private int backendPid;
    private byte[] backendKeyBytes;

    /** The last result of a simple query (for several statements: the last one's, or the first error). */
    record Reply(Outcome outcome, List<String> notices) {}

    WireClient(String host, int port, String user, String database, Map<String, String> options) throws IOException {
        this.host = host;
        this.port = port;
        socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), 10_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 65536));
        out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 65536));
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream b = new DataOutputStream(body);
        b.writeInt(196608);
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", user);
        params.put("database", database);
        params.putAll(options);
        for (Map.Entry<String, String> p : params.entrySet()) {
            cstr(b, p.getKey());
            cstr(b, p.getValue());
        }
        b.writeByte(0);
        out.writeInt(body.size() + 4);
        out.write(body.toByteArray());
        out.flush();
        while (true) {
            int type = in.readUnsignedByte();
            byte[] msg = readBody();
            switch (type) {
                case 'R' -> {
                    int code = int32(msg, 0);
                    if (code != 0) {
                        throw new IOException("the server asks for authentication " + code + "; expected trust");
                    }
                }
                case 'K' -> {
                    backendPid = int32(msg, 0);
                    backendKeyBytes = java.util.Arrays.copyOfRange(msg, 4, msg.length);
                }
                case 'E' -> throw new IOException("connection refused: " + fields(msg));
                case 'Z' -> {
                    return;
                }
                default -> {
                    // ParameterStatus, NoticeResponse, NegotiateProtocolVersion: ignored
                }
            }
        }
    }

    /** Runs a simple query; copyData feeds COPY FROM STDIN (null: none). */
    Reply query(String sql, byte[] copyData) throws IOException {
        byte[] q = sql.getBytes(StandardCharsets.UTF_8);
        out.writeByte('Q');
        out.writeInt(q.length + 5);
        out.write(q);
        out.writeByte(0);
        out.flush();
        List<String> notices = new ArrayList<>();
        Outcome result = null;
        Outcome error = null;
        List<String> columns = null;
        List<List<String>> rows = null;
        ByteArrayOutputStream copyOut = null;
        while (true) {
            int type = in.readUnsignedByte();
            byte[] msg = readBody();
            switch (type) {
                case 'T' -> {
                    int n = int16(msg, 0);
                    columns = new ArrayList<>(n);
                    int p = 2;
                    for (int i = 0; i < n; i++) {
                        int end = p;
                        while (msg[end] != 0) {
                            end++;
                        }
                        columns.add(new String(msg, p, end - p, StandardCharsets.UTF_8));
                        p = end + 1 + 18;
                    }
                    rows = new ArrayList<>();
                }
                case 'D' -> {
                    int n = int16(msg, 0);
                    List<String> row = new ArrayList<>(n);
                    int p = 2;
                    for (int i = 0; i < n; i++) {
                        int len = int32(msg, p);
                        p += 4;
                        if (len < 0) {
                            row.add(null);
                        } else {
                            row.add(new String(msg, p, len, StandardCharsets.UTF_8));
                            p += len;
                        }
                    }
                    rows.add(row);
                }
                case 'C' -> {
                    String tag = new String(msg, 0, msg.length - 1, StandardCharsets.UTF_8);
                    if (copyOut != null) {
                        result = Outcome.copy(tag, copyOut.toString(StandardCharsets.UTF_8));
                        copyOut = null;
                    } else {
                        result = Outcome.ok(tag, columns, rows);
                    }
                    columns = null;
                    rows = null;
                }
                case 'I' -> result = Outcome.ok("", null, null);
                case 'E' -> {
                    Map<Character, String> f = fields(msg);
                    if (error == null) {
                        error = Outcome.error(f.get('C'), f.get('M'));
                    }
                }
                case 'N' -> {
                    Map<Character, String> f = fields(msg);
                    notices.add(f.get('V') + ": " + f.get('M'));
                }
                case 'G' -> {
                    // CopyInResponse
                    if (copyData != null) {
                        int off = 0;
                        while (off < copyData.length) {
                            int n = Math.min(65536, copyData.length - off);
                            out.writeByte('d');
                            out.writeInt(n + 4);
                            out.write(copyData, off, n);
                            off += n;
                        }
                        out.writeByte('c');
                        out.writeInt(4);
                    } else {
                        byte[] m = "no COPY data in the script".getBytes(StandardCharsets.UTF_8);
                        out.writeByte('f');
                        out.writeInt(m.length + 5);
                        out.write(m);
                        out.writeByte(0);
                    }
                    out.flush();
                    copyData = null;
                }
                case 'H' -> copyOut = new ByteArrayOutputStream();
                case 'd' -> {
                    if (copyOut != null) {
                        copyOut.write(msg);
                    }
                }
                case 'c' -> {
                    // CopyDone
                }
                case 'Z' -> {
                    return new Reply(
                            error != null ? error : result != null ? result : Outcome.ok("", null, null), notices);
                }
                default -> {
                    // ParameterStatus, NotificationResponse, ...
                }
            }
        }
    }

    /** Sends a cancel request for the running query over a second connection. */
    void cancel() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 5_000);
            DataOutputStream o = new DataOutputStream(s.getOutputStream());
            byte[] key = backendKeyBytes != null ? backendKeyBytes : new byte[0];
            o.writeInt(12 + key.length);
            o.writeInt(80877102);
            o.writeInt(backendPid);
            o.write(key);
            o.flush();
            s.getInputStream().read();
        } catch (IOException ignored) {
            // best effort
        }
    }

    int backendPid() {
        return backendPid;
    }

    void setTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    @Override
    public void close() {
        try {
            out.writeByte('X');
            out.writeInt(4);
            out.flush();
        } catch (IOException ignored) {
            // closing anyway
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // closed
        }
    }

    private byte[] readBody() throws IOException {
        int len = in.readInt();
        if (len < 4) {
            throw new EOFException("bad message length " + len);
        }
        byte[] b = new byte[len - 4];
        in.readFully(b);
        return b;
    }

    private static Map<Character, String> fields(byte[] msg) {
        Map<Character, String> f = new LinkedHashMap<>();
        int p = 0;
        while (p < msg.length && msg[p] != 0) {
            char code = (char) msg[p++];
            int end = p;
            while (msg[end] != 0) {
                end++;
            }
            f.put(code, new String(msg, p, end - p, StandardCharsets.UTF_8));
            p = end + 1;
        }
        return f;
    }

    private static void cstr(DataOutputStream b, String s) throws IOException {
        b.write(s.getBytes(StandardCharsets.UTF_8));
        b.writeByte(0);
    }

    private static int int32(byte[] b, int p) {
        return (b[p] & 0xff) << 24 | (b[p + 1] & 0xff) << 16 | (b[p + 2] & 0xff) << 8 | (b[p + 3] & 0xff);
    }

    private static int int16(byte[] b, int p) {
        return (b[p] & 0xff) << 8 | (b[p + 1] & 0xff);
    }
}
