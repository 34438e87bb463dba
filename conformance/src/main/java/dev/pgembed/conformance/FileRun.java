package dev.pgembed.conformance;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One file of the regression suite, run as psql runs it: the meta-commands that matter ({@code \if},
 * {@code \set}, {@code \getenv}, {@code \copy}, {@code \bind}, {@code \connect}, ...) are emulated on both
 * sides, each SQL statement runs on both (with {@code \gset} and {@code \gexec} after it) and the two
 * outcomes are compared; the counts of the file and its differences are kept here, each difference
 * written to the report and, unless the expected differences list it, to the failures.
 */
final class FileRun {
    private final String file;
    private final PrintStream report;
    private final Sides sides;
    private final Sides.Side embed;
    private final Sides.Side stock;
    private final ExpectedDifferences expected;
    private final Conformance.Mode mode;
    private final Path work;
    private int compared;
    /** The index of entries: compared statements, and in JDBC mode the statements it cannot send. */
    private int ordinal;

    private int equal;
    private int different;
    private int skipped;
    private int expectedDiffs;
    private int bothFailed;
    private final List<String> unexpected = new ArrayList<>();
    /** \if stack: whether the branch is active, whether some branch was taken. */
    private final Deque<boolean[]> conds = new ArrayDeque<>();

    private boolean pipeline;
    private boolean quit;
    private List<String> bindEmbed;
    private List<String> bindStock;

    FileRun(
            String file,
            PrintStream report,
            Sides sides,
            ExpectedDifferences expected,
            Conformance.Mode mode,
            Path work) {
        this.file = file;
        this.report = report;
        this.sides = sides;
        this.embed = sides.embed;
        this.stock = sides.stock;
        this.expected = expected;
        this.mode = mode;
        this.work = work;
    }

    /** Runs the file's text (a new psql session: reset on both sides, variables cleared). */
    void run(String text) throws IOException {
        sides.resetSessions();
        embed.vars.clear();
        stock.vars.clear();
        for (PsqlScript.Item item : PsqlScript.parse(text)) {
            if (quit) {
                break;
            }
            if (item instanceof PsqlScript.Meta m) {
                meta(m);
            } else if (item instanceof PsqlScript.Sql q) {
                if (!active()) {
                    continue;
                }
                sql(q);
            }
        }
    }

    Conformance.FileResult result(double seconds, String error) {
        return new Conformance.FileResult(
                file, compared, equal, bothFailed, different, skipped, expectedDiffs, unexpected, seconds, error);
    }

    private boolean active() {
        for (boolean[] c : conds) {
            if (!c[0]) {
                return false;
            }
        }
        return true;
    }

    private void meta(PsqlScript.Meta m) throws IOException {
        String cmd = m.cmd();
        switch (cmd) {
            case "if" -> {
                boolean outer = active();
                boolean v = outer && truth(PsqlScript.args(m.args(), stock.vars));
                conds.push(new boolean[] {v, v || !outer});
                return;
            }
            case "elif" -> {
                boolean[] c = conds.peek();
                if (c != null) {
                    boolean v = !c[1] && truth(PsqlScript.args(m.args(), stock.vars));
                    c[0] = v;
                    c[1] |= v;
                }
                return;
            }
            case "else" -> {
                boolean[] c = conds.peek();
                if (c != null) {
                    c[0] = !c[1];
                    c[1] = true;
                }
                return;
            }
            case "endif" -> {
                conds.poll();
                return;
            }
            default -> {}
        }
        if (!active()) {
            return;
        }
        switch (cmd) {
            case "getenv" -> {
                for (Sides.Side s : List.of(embed, stock)) {
                    List<String> a = PsqlScript.args(m.args(), s.vars);
                    if (a.size() == 2) {
                        String v = s.env.get(a.get(1));
                        if (v == null) {
                            v = System.getenv(a.get(1));
                        }
                        if (v != null) {
                            s.vars.put(a.get(0), v);
                        } else {
                            s.vars.remove(a.get(0));
                        }
                    }
                }
            }
            case "set" -> {
                for (Sides.Side s : List.of(embed, stock)) {
                    List<String> a = PsqlScript.args(m.args(), s.vars);
                    if (!a.isEmpty()) {
                        s.vars.put(a.get(0), String.join("", a.subList(1, a.size())));
                    }
                }
            }
            case "unset" -> {
                for (Sides.Side s : List.of(embed, stock)) {
                    List<String> a = PsqlScript.args(m.args(), s.vars);
                    if (!a.isEmpty()) {
                        s.vars.remove(a.get(0));
                    }
                }
            }
            case "setenv" -> {
                for (Sides.Side s : List.of(embed, stock)) {
                    List<String> a = PsqlScript.args(m.args(), s.vars);
                    if (a.size() >= 2) {
                        s.env.put(a.get(0), a.get(1));
                    } else if (a.size() == 1) {
                        s.env.remove(a.get(0));
                    }
                }
            }
            case "bind" -> {
                bindEmbed = PsqlScript.args(m.args(), embed.vars);
                bindStock = PsqlScript.args(m.args(), stock.vars);
            }
            case "startpipeline" -> {
                pipeline = true;
                skipped++;
            }
            case "endpipeline" -> {
                pipeline = false;
                skipped++;
            }
            case "q", "quit" -> quit = true;
            case "copy" -> copyMeta(m);
            case "c", "connect" -> {
                // a new session: emulated by resetting the session on both sides (same database only)
                List<String> a = PsqlScript.args(m.args(), stock.vars);
                String dbname = a.isEmpty() ? "-" : a.get(0);
                String user = a.size() < 2 ? "-" : a.get(1);
                skipped++;
                if (!dbname.equals("-") && !dbname.equals(Conformance.DATABASE) || dbname.contains("=")) {
                    return;
                }
                sides.resetSessions();
                if (!user.equals("-")) {
                    String set = "SET SESSION AUTHORIZATION " + PsqlScript.identifier(user);
                    sides.runEmbedded(set, null, false, false, null);
                    sides.runServer(set, null);
                }
            }
            default -> skipped++;
        }
    }

    private static boolean truth(List<String> a) {
        if (a.isEmpty()) {
            return false;
        }
        String v = a.get(0).toLowerCase(Locale.ROOT);
        return !v.isEmpty() && ("true".startsWith(v) || "yes".startsWith(v) || v.equals("on") || v.equals("1"));
    }

    private static final Pattern COPY_META = Pattern.compile(
            "^(.*?)\\s+(from|to)\\s+('(?:[^']|'')*'|\\S+)(.*)$", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    /** {@code \copy}: COPY ... FROM STDIN / TO STDOUT with the client's file or the script's data. */
    private void copyMeta(PsqlScript.Meta m) throws IOException {
        Outcome[] out = new Outcome[2];
        String[] texts = new String[2];
        int i = 0;
        for (Sides.Side s : List.of(embed, stock)) {
            String args = PsqlScript.interpolate(m.args(), s.vars);
            Matcher mm = topLevelCopy(args);
            if (mm == null) {
                skipped++;
                return;
            }
            String target = mm.group(1);
            boolean from = mm.group(2).equalsIgnoreCase("from");
            String file = mm.group(3);
            if (file.startsWith("'")) {
                file = file.substring(1, file.length() - 1).replace("''", "'");
            } else if (file.indexOf(';') >= 0) {
                file = file.substring(0, file.indexOf(';')); // psql ends the file name at ';' (\copy ... to stdout;)
            }
            String rest = mm.group(4);
            String lf = file.toLowerCase(Locale.ROOT);
            String sql = "COPY " + target + (from ? " FROM STDIN" : " TO STDOUT") + rest;
            texts[i] = sql;
            byte[] data = null;
            Path toFile = null;
            if (from) {
                if (lf.equals("stdin") || lf.equals("pstdin")) {
                    data = (m.copyData() == null ? "" : m.copyData()).getBytes(StandardCharsets.UTF_8);
                } else {
                    data = Files.readAllBytes(work.resolve(file));
                }
            } else if (!lf.equals("stdout") && !lf.equals("pstdout")) {
                // psql's working directory is pg_regress's output directory: ours is the work directory
                toFile = work.resolve(file);
            }
            Outcome o =
                    s == embed ? sides.runEmbedded(sql, data, !from, false, null) : sides.runServer(sql, data, !from);
            if (toFile != null && o.ok() && o.copyText() != null) {
                Files.writeString(toFile, o.copyText());
            }
            out[i++] = o;
        }
        compare(new PsqlScript.Sql("\\copy " + m.args(), "copy", "", m.line(), null, false), texts, out[0], out[1]);
    }

    private static Matcher topLevelCopy(String args) {
        // the target may be a parenthesized query: find " from " / " to " after its closing parenthesis
        int start = 0;
        if (args.stripLeading().startsWith("(")) {
            int depth = 0;
            for (int p = args.indexOf('('); p < args.length(); p++) {
                char c = args.charAt(p);
                if (c == '(') {
                    depth++;
                } else if (c == ')') {
                    depth--;
                    if (depth == 0) {
                        start = p + 1;
                        break;
                    }
                } else if (c == '\'') {
                    p = PsqlScript.skipString(args, p, false) - 1;
                }
            }
        }
        Matcher m = COPY_META.matcher(args);
        if (m.find(0) && m.start(2) >= start) {
            return m;
        }
        Matcher tail = COPY_META.matcher(args.substring(start));
        if (!tail.matches()) {
            return null;
        }
        Matcher whole = Pattern.compile(
                        "^(" + Pattern.quote(args.substring(0, start))
                                + ".*?)\\s+(from|to)\\s+('(?:[^']|'')*'|\\S+)(.*)$",
                        Pattern.CASE_INSENSITIVE | Pattern.DOTALL)
                .matcher(args);
        return whole.matches() ? whole : null;
    }

    private void sql(PsqlScript.Sql q) throws IOException {
        String term = q.terminator();
        List<String> bindE = bindEmbed;
        if (pipeline || term.equals("gdesc") || term.equals("watch")) {
            bindEmbed = null;
            bindStock = null;
            skipped++;
            return;
        }
        String textE = PsqlScript.interpolate(q.text(), embed.vars);
        String textS = PsqlScript.interpolate(q.text(), stock.vars);
        if (!textE.equals(q.text()) && bindE == null) {
            // psql lexes an interpolated value: a variable holding several statements sends them one by one
            List<PsqlScript.Item> pe = PsqlScript.parse(textE);
            List<PsqlScript.Item> ps = PsqlScript.parse(textS);
            if (pe.size() > 1
                    && pe.size() == ps.size()
                    && pe.stream().allMatch(i -> i instanceof PsqlScript.Sql)
                    && ps.stream().allMatch(i -> i instanceof PsqlScript.Sql)) {
                for (int i = 0; i < pe.size(); i++) {
                    PsqlScript.Sql a = (PsqlScript.Sql) pe.get(i);
                    PsqlScript.Sql b = (PsqlScript.Sql) ps.get(i);
                    boolean last = i == pe.size() - 1;
                    PsqlScript.Sql part = new PsqlScript.Sql(
                            a.text(),
                            last ? term : ";",
                            last ? q.termArgs() : "",
                            q.line(),
                            last ? q.copyData() : null,
                            a.multi());
                    runPair(part, a.text(), b.text());
                }
                return;
            }
        }
        runPair(q, textE, textS);
    }

    private void runPair(PsqlScript.Sql q, String textE, String textS) throws IOException {
        String term = q.terminator();
        List<String> bindE = bindEmbed;
        List<String> bindS = bindStock;
        bindEmbed = null;
        bindStock = null;
        if (mode == Conformance.Mode.JDBC
                && JDBC_REFUSES.matcher(PsqlScript.stripComments(textS)).find()) {
            // pgjdbc would close the connection: neither side runs it (the index still counts it)
            skipped++;
            ordinal++;
            return;
        }
        byte[] data = q.copyData() == null ? null : q.copyData().getBytes(StandardCharsets.UTF_8);
        boolean copyOut = !q.multi() && Sides.isCopyToStdout(textE);
        if (q.multi()) {
            data = null;
        }
        Outcome e = sides.runEmbedded(textE, data, copyOut, q.multi(), bindE);
        Outcome s = bindS != null ? sides.runServerBound(textS, bindS) : sides.runServer(textS, data, copyOut);
        if (mode == Conformance.Mode.API && q.multi() && s.ok()) {
            s = Outcome.ok("", null, null); // execute() returns no rows: compare success and SQLSTATE only
        }
        compare(q, new String[] {textE, textS}, e, s);
        if (RESETS_SESSION_USER.matcher(PsqlScript.stripComments(textE)).find()) {
            checkSessionUser(q);
        }
        if (term.equals("gset")) {
            List<String> a = PsqlScript.args(q.termArgs(), stock.vars);
            String prefix = a.isEmpty() ? "" : a.get(0);
            gset(embed, e, prefix);
            gset(stock, s, prefix);
        } else if (term.equals("gexec") && s.ok() && s.rows() != null) {
            int k = 0;
            for (List<String> row : s.rows()) {
                for (String cell : row) {
                    if (cell == null) {
                        continue;
                    }
                    k++;
                    PsqlScript.Sql sub = new PsqlScript.Sql(cell, ";", "", q.line(), null, false);
                    Outcome se = sides.runEmbedded(cell, null, Sides.isCopyToStdout(cell), false, null);
                    Outcome ss = sides.runServer(cell, null);
                    compare(sub, new String[] {cell, cell}, se, ss);
                }
            }
        }
    }

    /**
     * Statements pgjdbc cannot survive: it closes its connection when DateStyle stops beginning with ISO or
     * client_encoding stops being UTF8 (a change of the order alone, SET datestyle TO dmy, is fine).
     */
    private static final Pattern JDBC_REFUSES = Pattern.compile(
            "^\\s*set\\s+(local\\s+|session\\s+)?(datestyle\\b[^;]*\\b(postgres|sql|german)\\b"
                    + "|client_encoding\\b(?![\\s=to']*(utf-?8|unicode)\\b))",
            Pattern.CASE_INSENSITIVE);

    /** Statements that give the session back its original user (the bug they check is described below). */
    private static final Pattern RESETS_SESSION_USER = Pattern.compile(
            "^\\s*(reset\\s+session\\s+authorization|set\\s+session\\s+authorization\\s+default|discard\\s+all"
                    + "|reset\\s+all|rollback|abort|commit|end|prepare\\s+transaction)\\b",
            Pattern.CASE_INSENSITIVE);

    /**
     * pgembed runs its backend like a standalone one (no postmaster), whose start never set the GUC
     * session_authorization, so RESET SESSION AUTHORIZATION, SET SESSION AUTHORIZATION DEFAULT and DISCARD
     * ALL used to leave the session as the user it was switched to (the engine now sets it). The check stays
     * as a guard: after such a statement, compare the session users; when they differ, count a difference
     * for the statement and switch pgembed back to the server's user, so that the rest of the file is not
     * compared as a different user.
     */
    private void checkSessionUser(PsqlScript.Sql q) throws IOException {
        String sql = "SELECT session_user, current_user";
        Outcome e = sides.runEmbedded(sql, null, false, false, null);
        Outcome s = sides.runServer(sql, null);
        if (!s.ok() || s.rows() == null || s.rows().isEmpty() || e.ok() && Objects.equals(e.rows(), s.rows())) {
            return;
        }
        compared++;
        String flat = q.text().strip().replaceAll("\\s+", " ");
        recordDifference(++ordinal, q, flat + "; " + sql, flat, "session user after the statement", e, s);
        String user = s.rows().get(0).get(0);
        String role = s.rows().get(0).get(1);
        sides.runEmbedded("SET SESSION AUTHORIZATION " + PsqlScript.identifier(user), null, false, false, null);
        sides.runEmbedded(
                user.equals(role) ? "RESET ROLE" : "SET ROLE " + PsqlScript.identifier(role), null, false, false, null);
    }

    private static void gset(Sides.Side side, Outcome o, String prefix) {
        if (!o.ok() || o.rows() == null || o.rows().size() != 1) {
            return;
        }
        List<String> row = o.rows().get(0);
        for (int i = 0; i < o.columns().size(); i++) {
            String v = row.get(i);
            if (v == null) {
                side.vars.remove(prefix + o.columns().get(i));
            } else {
                side.vars.put(prefix + o.columns().get(i), v);
            }
        }
    }

    private void compare(PsqlScript.Sql q, String[] texts, Outcome e, Outcome s) throws IOException {
        compared++;
        int index = ++ordinal;
        String why = Comparison.difference(q.text(), e, s, sides::extraFloatDigits);
        if (why == null) {
            equal++;
            if (!e.ok()) {
                bothFailed++;
            }
            return;
        }
        String flat = q.text().strip().replaceAll("\\s+", " ");
        if (flat.length() > 160) {
            flat = flat.substring(0, 160) + "...";
        }
        recordDifference(index, q, flat, flat, why, e, s);
    }

    /** Counts a difference, writes it to the report and, when expected-differences.txt does not list it, to the failures. */
    private void recordDifference(
            int index, PsqlScript.Sql q, String reportSql, String listSql, String why, Outcome e, Outcome s) {
        different++;
        String key = file + " " + index + " " + ExpectedDifferences.hash(q.text());
        String reason = expected.occurred(key);
        report.println((reason != null ? "[expected] " : "[UNEXPECTED] ") + key + "  (line " + q.line() + ")");
        report.println("  sql:     " + reportSql);
        report.println("  why:     " + why);
        report.println("  pgembed: " + e.brief());
        report.println("  server:  " + s.brief());
        if (reason != null) {
            expectedDiffs++;
        } else {
            unexpected.add(key + "  line " + q.line() + ": " + listSql + "  [" + why + "]  pgembed: " + e.brief()
                    + "  server: " + s.brief());
        }
    }
}
