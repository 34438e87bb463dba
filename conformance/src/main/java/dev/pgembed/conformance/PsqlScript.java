package dev.pgembed.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a psql script into SQL statements and backslash meta-commands the way psql's lexer
 * (src/fe_utils/psqlscan.l) does: a statement ends at a semicolon outside quotes, dollar quotes, comments,
 * parentheses and the BEGIN ... END of a SQL-standard routine body, or at a meta-command that sends the
 * query buffer ({@code \g}, {@code \gset}, ...). A meta-command ends at the end of its line (or at the next
 * unquoted backslash). The data lines of COPY ... FROM STDIN follow their statement, up to {@code \.}.
 */
final class PsqlScript {
    private PsqlScript() {}

    sealed interface Item permits Sql, Meta {
        int line();
    }

    /**
     * A statement.
     *
     * @param text       the statement text as psql would send it (before variable interpolation)
     * @param terminator ";" or the meta-command that sent it ("g", "gset", "gexec", ...) or "eof"
     * @param termArgs   the arguments of that meta-command
     * @param copyData   the inline data of COPY ... FROM STDIN, or null
     * @param multi      true when {@code \;} joined several statements into one query string
     */
    record Sql(String text, String terminator, String termArgs, int line, String copyData, boolean multi)
            implements Item {}

    /** A meta-command (name without backslash) with its raw argument text. */
    record Meta(String cmd, String args, int line, String copyData) implements Item {}

    /** The meta-commands that send the query buffer. */
    static final java.util.Set<String> SENDERS =
            java.util.Set.of("g", "gx", "gset", "gexec", "gdesc", "crosstabview", "watch", "sendpipeline");

    private static final Pattern COPY_FROM_STDIN = Pattern.compile(
            "^\\s*copy\\b.*\\bfrom\\s+(stdin|pstdin|stdout)\\b.*", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern META_COPY_FROM_STDIN =
            Pattern.compile(".*\\bfrom\\s+(stdin|pstdin|stdout)\\b.*", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    static List<Item> parse(String s) {
        List<Item> items = new ArrayList<>();
        StringBuilder buf = new StringBuilder();
        String lastSent = "";
        int paren = 0;
        int begin = 0;
        List<String> idents = new ArrayList<>();
        boolean multi = false;
        int line = 1;
        int stmtLine = 1;
        int n = s.length();
        int pos = 0;
        while (pos < n) {
            char c = s.charAt(pos);
            boolean empty = buf.isEmpty();
            if (empty) {
                stmtLine = line;
            }
            if (c == '\n') {
                line++;
            }
            if (Character.isWhitespace(c)) {
                if (!empty) {
                    buf.append(c);
                }
                pos++;
                continue;
            }
            if (c == '-' && pos + 1 < n && s.charAt(pos + 1) == '-') {
                int eol = s.indexOf('\n', pos);
                if (eol < 0) {
                    eol = n;
                }
                if (!empty) {
                    buf.append(s, pos, eol);
                }
                pos = eol;
                continue;
            }
            if (c == '/' && pos + 1 < n && s.charAt(pos + 1) == '*') {
                int depth = 0;
                int p = pos;
                while (p < n) {
                    if (s.startsWith("/*", p)) {
                        depth++;
                        p += 2;
                    } else if (s.startsWith("*/", p)) {
                        depth--;
                        p += 2;
                        if (depth == 0) {
                            break;
                        }
                    } else {
                        if (s.charAt(p) == '\n') {
                            line++;
                        }
                        p++;
                    }
                }
                buf.append(s, pos, p);
                pos = p;
                continue;
            }
            if (c == '\'') {
                int p = skipString(s, pos, false);
                line += count(s, pos, p);
                buf.append(s, pos, p);
                pos = p;
                continue;
            }
            if (c == '"') {
                int p = skipQuoted(s, pos, '"');
                line += count(s, pos, p);
                buf.append(s, pos, p);
                pos = p;
                continue;
            }
            if (c == '$') {
                int p = skipDollar(s, pos);
                line += count(s, pos, p);
                buf.append(s, pos, p);
                pos = p;
                continue;
            }
            if (isIdentStart(c)) {
                int p = pos + 1;
                while (p < n && isIdentCont(s.charAt(p))) {
                    p++;
                }
                String word = s.substring(pos, p);
                buf.append(word);
                pos = p;
                if (word.equalsIgnoreCase("e") && p < n && s.charAt(p) == '\'') {
                    int q = skipString(s, p, true);
                    line += count(s, p, q);
                    buf.append(s, p, q);
                    pos = q;
                    continue;
                }
                if (paren == 0) {
                    String w = word.toLowerCase(Locale.ROOT);
                    if (idents.size() < 4) {
                        idents.add(w);
                    }
                    if (isCreateRoutine(idents)) {
                        switch (w) {
                            case "begin" -> begin++;
                            case "case" -> {
                                if (begin >= 1) {
                                    begin++;
                                }
                            }
                            case "end" -> {
                                if (begin > 0) {
                                    begin--;
                                }
                            }
                            default -> {}
                        }
                    }
                }
                continue;
            }
            if (c >= '0' && c <= '9') {
                int p = pos + 1;
                while (p < n && (Character.isLetterOrDigit(s.charAt(p)) || s.charAt(p) == '_' || s.charAt(p) == '.')) {
                    p++;
                }
                buf.append(s, pos, p);
                pos = p;
                continue;
            }
            if (c == ':' && pos + 1 < n && s.charAt(pos + 1) == ':') {
                buf.append("::");
                pos += 2;
                continue;
            }
            if (c == '(') {
                paren++;
            } else if (c == ')') {
                if (paren > 0) {
                    paren--;
                }
            }
            if (c == ';') {
                buf.append(';');
                pos++;
                if (paren == 0 && begin == 0) {
                    String text = buf.toString();
                    buf.setLength(0);
                    idents.clear();
                    String data = null;
                    int copies = multi
                            ? copyCount(text)
                            : COPY_FROM_STDIN.matcher(stripComments(text)).matches() ? 1 : 0;
                    for (int k = 0; k < copies; k++) {
                        int[] res = readCopyData(s, pos);
                        data = (data == null ? "" : data) + s.substring(res[0], res[1]);
                        line += count(s, pos, res[2]);
                        pos = res[2];
                    }
                    items.add(new Sql(text, ";", "", stmtLine, data, multi));
                    lastSent = text;
                    multi = false;
                }
                continue;
            }
            if (c == '\\') {
                if (pos + 1 < n && (s.charAt(pos + 1) == ';' || s.charAt(pos + 1) == ':')) {
                    char f = s.charAt(pos + 1);
                    buf.append(f);
                    pos += 2;
                    if (f == ';' && paren == 0 && begin == 0) {
                        multi = true;
                        idents.clear();
                    }
                    continue;
                }
                // a meta-command: name, then arguments up to the end of the line or an unquoted backslash
                int p = pos + 1;
                if (p < n && Character.isLetter(s.charAt(p))) {
                    while (p < n
                            && (Character.isLetterOrDigit(s.charAt(p)) || s.charAt(p) == '+' || s.charAt(p) == '_')) {
                        p++;
                    }
                } else if (p < n) {
                    p++;
                }
                String cmd = s.substring(pos + 1, p);
                int argEnd;
                boolean wholeLine = cmd.equals("copy")
                        || cmd.equals("!")
                        || cmd.equals("echo")
                        || cmd.equals("qecho")
                        || cmd.equals("warn");
                argEnd = wholeLine ? eol(s, p) : argsEnd(s, p);
                String args = s.substring(p, argEnd).trim();
                pos = argEnd;
                if (pos < n && s.startsWith("\\\\", pos)) {
                    pos += 2; // the separator of two meta-commands
                }
                int cmdLine = line;
                if (SENDERS.contains(cmd)) {
                    String text = buf.isEmpty() ? lastSent : buf.toString();
                    buf.setLength(0);
                    idents.clear();
                    paren = 0;
                    begin = 0;
                    String data = null;
                    if (COPY_FROM_STDIN.matcher(stripComments(text)).matches()) {
                        int[] res = readCopyData(s, pos);
                        data = s.substring(res[0], res[1]);
                        line += count(s, pos, res[2]);
                        pos = res[2];
                    }
                    items.add(new Sql(text, cmd, args, empty ? cmdLine : stmtLine, data, multi));
                    lastSent = text;
                    multi = false;
                } else if (cmd.equals("r") || cmd.equals("reset")) {
                    buf.setLength(0);
                    idents.clear();
                    paren = 0;
                    begin = 0;
                    multi = false;
                    items.add(new Meta(cmd, args, cmdLine, null));
                } else {
                    String data = null;
                    if (cmd.equals("copy") && META_COPY_FROM_STDIN.matcher(args).matches()) {
                        int[] res = readCopyData(s, pos);
                        data = s.substring(res[0], res[1]);
                        line += count(s, pos, res[2]);
                        pos = res[2];
                    }
                    items.add(new Meta(cmd, args, cmdLine, data));
                }
                continue;
            }
            buf.append(c);
            pos++;
        }
        if (!buf.toString().isBlank()) {
            items.add(new Sql(buf.toString(), "eof", "", stmtLine, null, multi));
        }
        return items;
    }

    private static final Pattern COPY_IN_PART = Pattern.compile(
            "\\bcopy\\b[^;]*?\\bfrom\\s+(stdin|pstdin|stdout)\\b", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    /** The number of COPY ... FROM STDIN in a query string made of several statements. */
    private static int copyCount(String text) {
        Matcher m = COPY_IN_PART.matcher(stripComments(text));
        int k = 0;
        while (m.find()) {
            k++;
        }
        return k;
    }

    private static boolean isCreateRoutine(List<String> idents) {
        if (idents.isEmpty() || !idents.get(0).equals("create")) {
            return false;
        }
        if (idents.size() >= 2
                && (idents.get(1).equals("function") || idents.get(1).equals("procedure"))) {
            return true;
        }
        return idents.size() >= 4
                && idents.get(1).equals("or")
                && idents.get(2).equals("replace")
                && (idents.get(3).equals("function") || idents.get(3).equals("procedure"));
    }

    /** {start of data, end of data, position after the terminator line}. Data starts on the next line. */
    private static int[] readCopyData(String s, int pos) {
        int n = s.length();
        int start = s.indexOf('\n', pos);
        start = start < 0 ? n : start + 1;
        int p = start;
        while (p < n) {
            int e = s.indexOf('\n', p);
            int le = e < 0 ? n : e;
            String l = s.substring(p, le);
            if (l.equals("\\.") || l.equals("\\.\r")) {
                return new int[] {start, p, e < 0 ? n : e + 1};
            }
            p = e < 0 ? n : e + 1;
        }
        return new int[] {start, n, n};
    }

    private static int eol(String s, int p) {
        int e = s.indexOf('\n', p);
        return e < 0 ? s.length() : e;
    }

    /** The end of a meta-command's arguments: end of line or an unquoted backslash. */
    private static int argsEnd(String s, int p) {
        int n = s.length();
        while (p < n) {
            char c = s.charAt(p);
            if (c == '\n') {
                return p;
            }
            if (c == '\'') {
                p++;
                while (p < n && s.charAt(p) != '\n') {
                    if (s.charAt(p) == '\\' && p + 1 < n) {
                        p += 2;
                        continue;
                    }
                    if (s.charAt(p) == '\'') {
                        if (p + 1 < n && s.charAt(p + 1) == '\'') {
                            p += 2;
                            continue;
                        }
                        break;
                    }
                    p++;
                }
                if (p < n && s.charAt(p) == '\'') {
                    p++;
                }
                continue;
            }
            if (c == '"' || c == '`') {
                int e = s.indexOf(c, p + 1);
                int l = eol(s, p + 1);
                p = e < 0 || e > l ? l : e + 1;
                continue;
            }
            if (c == '\\') {
                return p;
            }
            p++;
        }
        return n;
    }

    private static int count(String s, int from, int to) {
        int k = 0;
        for (int i = from; i < to; i++) {
            if (s.charAt(i) == '\n') {
                k++;
            }
        }
        return k;
    }

    static boolean isIdentStart(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }

    static boolean isIdentCont(char c) {
        return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$';
    }

    /** The end of a '...' string starting at p (escape: backslash escapes of E'' strings). */
    static int skipString(String s, int p, boolean escapes) {
        int n = s.length();
        p++;
        while (p < n) {
            char c = s.charAt(p);
            if (escapes && c == '\\' && p + 1 < n) {
                p += 2;
                continue;
            }
            if (c == '\'') {
                if (p + 1 < n && s.charAt(p + 1) == '\'') {
                    p += 2;
                    continue;
                }
                return p + 1;
            }
            p++;
        }
        return n;
    }

    static int skipQuoted(String s, int p, char q) {
        int n = s.length();
        p++;
        while (p < n) {
            if (s.charAt(p) == q) {
                if (p + 1 < n && s.charAt(p + 1) == q) {
                    p += 2;
                    continue;
                }
                return p + 1;
            }
            p++;
        }
        return n;
    }

    /** At a '$': the end of the dollar-quoted string, or p + 1 when it does not start one. */
    static int skipDollar(String s, int p) {
        int n = s.length();
        int q = p + 1;
        if (q < n && s.charAt(q) != '$') {
            if (!isIdentStart(s.charAt(q))) {
                // $1 and the like
                int e = q;
                while (e < n && Character.isDigit(s.charAt(e))) {
                    e++;
                }
                return Math.max(e, p + 1);
            }
            while (q < n && isIdentStart(s.charAt(q)) || q < n && Character.isDigit(s.charAt(q))) {
                q++;
            }
            if (q >= n || s.charAt(q) != '$') {
                return p + 1;
            }
        }
        if (q >= n) {
            return n;
        }
        String tag = s.substring(p, q + 1);
        int close = s.indexOf(tag, q + 1);
        return close < 0 ? n : close + tag.length();
    }

    /** The text without comments (for keyword tests), quoted parts kept. */
    static String stripComments(String s) {
        StringBuilder b = new StringBuilder();
        int n = s.length();
        int p = 0;
        while (p < n) {
            char c = s.charAt(p);
            if (c == '-' && s.startsWith("--", p)) {
                p = eol(s, p);
                continue;
            }
            if (c == '/' && s.startsWith("/*", p)) {
                int e = s.indexOf("*/", p + 2);
                p = e < 0 ? n : e + 2;
                b.append(' ');
                continue;
            }
            if (c == '\'' || c == '"') {
                int e = c == '\''
                        ? skipString(s, p, p > 0 && (s.charAt(p - 1) == 'E' || s.charAt(p - 1) == 'e'))
                        : skipQuoted(s, p, '"');
                b.append(s, p, e);
                p = e;
                continue;
            }
            if (c == '$') {
                int e = skipDollar(s, p);
                b.append(s, p, e);
                p = e;
                continue;
            }
            b.append(c);
            p++;
        }
        return b.toString();
    }

    /**
     * True when the statement has an ORDER BY outside parentheses (its rows' order is defined), or is an
     * EXPLAIN, SHOW or a FETCH from a cursor.
     */
    static boolean ordered(String sql) {
        String s = stripComments(sql);
        String lead = s.stripLeading().toLowerCase(Locale.ROOT);
        if (lead.startsWith("explain") || lead.startsWith("fetch") || lead.startsWith("execute")) {
            return true;
        }
        StringBuilder top = new StringBuilder();
        int depth = 0;
        int n = s.length();
        int p = 0;
        while (p < n) {
            char c = s.charAt(p);
            if (c == '\'' || c == '"' || c == '$') {
                int e = c == '$' ? skipDollar(s, p) : c == '"' ? skipQuoted(s, p, '"') : skipString(s, p, true);
                top.append(' ');
                p = Math.max(e, p + 1);
                continue;
            }
            if (c == '(' || c == '[') {
                depth++;
            } else if (c == ')' || c == ']') {
                depth = Math.max(0, depth - 1);
            } else if (depth == 0) {
                top.append(c);
            }
            p++;
        }
        return Pattern.compile("\\border\\s+by\\b", Pattern.CASE_INSENSITIVE)
                .matcher(top)
                .find();
    }

    /**
     * psql's variable interpolation: {@code :name}, {@code :'name'}, {@code :"name"}, {@code :{?name}}
     * outside quotes and comments; unknown variables stay as written.
     */
    static String interpolate(String s, Map<String, String> vars) {
        if (s.indexOf(':') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        int n = s.length();
        int p = 0;
        while (p < n) {
            char c = s.charAt(p);
            if (c == '-' && s.startsWith("--", p)) {
                int e = eol(s, p);
                b.append(s, p, e);
                p = e;
                continue;
            }
            if (c == '/' && s.startsWith("/*", p)) {
                int e = s.indexOf("*/", p + 2);
                e = e < 0 ? n : e + 2;
                b.append(s, p, e);
                p = e;
                continue;
            }
            if (c == '\'' || c == '"') {
                boolean esc = c == '\''
                        && p > 0
                        && (s.charAt(p - 1) == 'E' || s.charAt(p - 1) == 'e')
                        && (p < 2 || !isIdentCont(s.charAt(p - 2)));
                int e = c == '\'' ? skipString(s, p, esc) : skipQuoted(s, p, '"');
                b.append(s, p, e);
                p = e;
                continue;
            }
            if (c == '$') {
                if (p > 0 && isIdentCont(s.charAt(p - 1))) {
                    b.append(c);
                    p++;
                    continue;
                }
                int e = skipDollar(s, p);
                b.append(s, p, e);
                p = e;
                continue;
            }
            if (isIdentStart(c)) {
                int e = p + 1;
                while (e < n && isIdentCont(s.charAt(e))) {
                    e++;
                }
                b.append(s, p, e);
                p = e;
                continue;
            }
            if (c == ':') {
                if (s.startsWith("::", p)) {
                    b.append("::");
                    p += 2;
                    continue;
                }
                if (p + 1 < n && (s.charAt(p + 1) == '\'' || s.charAt(p + 1) == '"')) {
                    char q = s.charAt(p + 1);
                    int e = p + 2;
                    while (e < n && isVarChar(s.charAt(e))) {
                        e++;
                    }
                    if (e > p + 2 && e < n && s.charAt(e) == q) {
                        String name = s.substring(p + 2, e);
                        String v = vars.get(name);
                        if (v != null) {
                            b.append(q == '\'' ? literal(v) : identifier(v));
                            p = e + 1;
                            continue;
                        }
                    }
                } else if (s.startsWith(":{?", p)) {
                    int e = s.indexOf('}', p);
                    if (e > 0) {
                        b.append(vars.containsKey(s.substring(p + 3, e)) ? "TRUE" : "FALSE");
                        p = e + 1;
                        continue;
                    }
                } else {
                    int e = p + 1;
                    while (e < n && isVarChar(s.charAt(e))) {
                        e++;
                    }
                    if (e > p + 1) {
                        String v = vars.get(s.substring(p + 1, e));
                        if (v != null) {
                            b.append(v);
                            p = e;
                            continue;
                        }
                    }
                    b.append(s, p, e);
                    p = e;
                    continue;
                }
            }
            b.append(c);
            p++;
        }
        return b.toString();
    }

    static boolean isVarChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
    }

    /** PQescapeLiteral. */
    static String literal(String v) {
        boolean bs = v.indexOf('\\') >= 0;
        StringBuilder b = new StringBuilder();
        if (bs) {
            b.append(" E");
        }
        b.append('\'');
        for (char c : v.toCharArray()) {
            if (c == '\'' || c == '\\') {
                b.append(c);
            }
            b.append(c);
        }
        return b.append('\'').toString();
    }

    /** PQescapeIdentifier. */
    static String identifier(String v) {
        return '"' + v.replace("\"", "\"\"") + '"';
    }

    /**
     * The arguments of a meta-command as psql's slash-command lexer reads them: whitespace-separated,
     * '...' with psql's escapes, "..." kept with its quotes, variables interpolated, `...` run by no one.
     */
    static List<String> args(String raw, Map<String, String> vars) {
        List<String> out = new ArrayList<>();
        int n = raw.length();
        int p = 0;
        while (p < n) {
            while (p < n && Character.isWhitespace(raw.charAt(p))) {
                p++;
            }
            if (p >= n) {
                break;
            }
            StringBuilder a = new StringBuilder();
            while (p < n && !Character.isWhitespace(raw.charAt(p))) {
                char c = raw.charAt(p);
                if (c == '\'') {
                    p++;
                    while (p < n) {
                        char d = raw.charAt(p);
                        if (d == '\'') {
                            if (p + 1 < n && raw.charAt(p + 1) == '\'') {
                                a.append('\'');
                                p += 2;
                                continue;
                            }
                            p++;
                            break;
                        }
                        if (d == '\\' && p + 1 < n) {
                            char e = raw.charAt(p + 1);
                            switch (e) {
                                case 'n' -> a.append('\n');
                                case 't' -> a.append('\t');
                                case 'b' -> a.append('\b');
                                case 'r' -> a.append('\r');
                                case 'f' -> a.append('\f');
                                default -> a.append(e);
                            }
                            p += 2;
                            continue;
                        }
                        a.append(d);
                        p++;
                    }
                    continue;
                }
                if (c == '"') {
                    int e = skipQuoted(raw, p, '"');
                    a.append(raw, p, e);
                    p = e;
                    continue;
                }
                if (c == ':' && p + 1 < n) {
                    char q = raw.charAt(p + 1);
                    if (q == '\'' || q == '"') {
                        int e = p + 2;
                        while (e < n && isVarChar(raw.charAt(e))) {
                            e++;
                        }
                        if (e < n && raw.charAt(e) == q && vars.containsKey(raw.substring(p + 2, e))) {
                            String v = vars.get(raw.substring(p + 2, e));
                            a.append(q == '\'' ? literal(v).trim() : identifier(v));
                            p = e + 1;
                            continue;
                        }
                    } else if (isVarChar(q)) {
                        int e = p + 1;
                        while (e < n && isVarChar(raw.charAt(e))) {
                            e++;
                        }
                        String v = vars.get(raw.substring(p + 1, e));
                        if (v != null) {
                            a.append(v);
                            p = e;
                            continue;
                        }
                    }
                }
                a.append(c);
                p++;
            }
            out.add(a.toString());
        }
        return out;
    }
}
