package dev.pgembed;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * PostgreSQL's text forms of dates and times in the ISO DateStyle pgembed sets: written for parameters
 * (with the BC suffix of years &lt;= 0 and the {@code infinity} spellings of the MIN/MAX constants) and read
 * back from results.
 */
final class TemporalText {
    private TemporalText() {}

    static String formatDate(LocalDate d) {
        if (d.equals(LocalDate.MAX)) {
            return "infinity";
        }
        if (d.equals(LocalDate.MIN)) {
            return "-infinity";
        }
        StringBuilder sb = new StringBuilder(16);
        appendDate(sb, d);
        if (d.getYear() <= 0) {
            sb.append(" BC");
        }
        return sb.toString();
    }

    private static void appendDate(StringBuilder sb, LocalDate d) {
        int y = d.getYear() <= 0 ? 1 - d.getYear() : d.getYear();
        String ys = Integer.toString(y);
        for (int i = ys.length(); i < 4; i++) {
            sb.append('0');
        }
        sb.append(ys).append('-');
        two(sb, d.getMonthValue()).append('-');
        two(sb, d.getDayOfMonth());
    }

    private static StringBuilder two(StringBuilder sb, int v) {
        if (v < 10) {
            sb.append('0');
        }
        return sb.append(v);
    }

    static String formatOffsetDateTime(OffsetDateTime t) {
        return formatTimestamp(t.toLocalDateTime(), t.getOffset());
    }

    /* a timestamptz in UTC; Instant.MAX and MIN are the infinities */
    static String formatInstant(Instant x) {
        return x.equals(Instant.MAX)
                ? "infinity"
                : x.equals(Instant.MIN)
                        ? "-infinity"
                        : formatTimestamp(
                                LocalDateTime.ofEpochSecond(x.getEpochSecond(), x.getNano(), ZoneOffset.UTC),
                                ZoneOffset.UTC);
    }

    static String formatTimestamp(LocalDateTime t, ZoneOffset offset) {
        if (t.equals(LocalDateTime.MAX) || (offset != null && t.equals(OffsetDateTime.MAX.toLocalDateTime()))) {
            return "infinity";
        }
        if (t.equals(LocalDateTime.MIN) || (offset != null && t.equals(OffsetDateTime.MIN.toLocalDateTime()))) {
            return "-infinity";
        }
        StringBuilder sb = new StringBuilder(40);
        appendDate(sb, t.toLocalDate());
        sb.append(' ').append(t.toLocalTime());
        if (t.toLocalTime().getSecond() == 0 && t.toLocalTime().getNano() == 0) {
            sb.append(":00");
        }
        if (offset != null) {
            int s = offset.getTotalSeconds();
            sb.append(s < 0 ? '-' : '+');
            s = Math.abs(s);
            two(sb, s / 3600).append(':');
            two(sb, (s / 60) % 60);
            if (s % 60 != 0) {
                sb.append(':');
                two(sb, s % 60);
            }
        }
        if (t.getYear() <= 0) {
            sb.append(" BC");
        }
        return sb.toString();
    }

    static LocalDate parseDate(String s) {
        LocalDate infinite = infinity(s, LocalDate.MAX, LocalDate.MIN);
        if (infinite != null) {
            return infinite;
        }
        boolean bc = s.endsWith(" BC");
        int dash = s.indexOf('-', 1);
        int y = Integer.parseInt(s, 0, dash, 10);
        int m = Integer.parseInt(s, dash + 1, dash + 3, 10);
        int d = Integer.parseInt(s, dash + 4, dash + 6, 10);
        return LocalDate.of(bc ? 1 - y : y, m, d);
    }

    static LocalTime parseTime(String s) {
        // HH:MM:SS[.ffffff][+offset for timetz]
        int end = s.length();
        for (int i = 8; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '+' || c == '-') {
                end = i;
                break;
            }
        }
        return timeOf(s, 0, end);
    }

    private static LocalTime timeOf(String s, int from, int end) {
        int h = Integer.parseInt(s, from, from + 2, 10);
        int m = Integer.parseInt(s, from + 3, from + 5, 10);
        int sec = end >= from + 8 ? Integer.parseInt(s, from + 6, from + 8, 10) : 0;
        int nanos = 0;
        if (end > from + 9 && s.charAt(from + 8) == '.') {
            int digits = end - (from + 9);
            nanos = Integer.parseInt(s, from + 9, end, 10);
            for (int i = digits; i < 9; i++) {
                nanos *= 10;
            }
        }
        if (h == 24) {
            return LocalTime.MAX;
        }
        return LocalTime.of(h, m, sec, nanos);
    }

    /** A timestamp or timestamptz (no offset: UTC). */
    static OffsetDateTime parseTimestamp(String s) {
        OffsetDateTime infinite = infinity(s, OffsetDateTime.MAX, OffsetDateTime.MIN);
        if (infinite != null) {
            return infinite;
        }
        boolean bc = s.endsWith(" BC");
        int end = bc ? s.length() - 3 : s.length();
        int space = s.indexOf(' ');
        if (space < 0 || space > end) {
            return OffsetDateTime.of(parseDate(s).atStartOfDay(), ZoneOffset.UTC);
        }
        LocalDate d = parseDate(bc ? s.substring(0, space) + " BC" : s.substring(0, space));
        int tEnd = end;
        int offStart = -1;
        for (int i = space + 9; i < end; i++) {
            char c = s.charAt(i);
            if (c == '+' || c == '-') {
                tEnd = i;
                offStart = i;
                break;
            }
        }
        LocalTime t = timeOf(s, space + 1, tEnd);
        ZoneOffset off = ZoneOffset.UTC;
        if (offStart >= 0) {
            int sign = s.charAt(offStart) == '-' ? -1 : 1;
            int oh = Integer.parseInt(s, offStart + 1, offStart + 3, 10);
            int om = end >= offStart + 6 ? Integer.parseInt(s, offStart + 4, offStart + 6, 10) : 0;
            int os = end >= offStart + 9 ? Integer.parseInt(s, offStart + 7, offStart + 9, 10) : 0;
            off = ZoneOffset.ofTotalSeconds(sign * (oh * 3600 + om * 60 + os));
        }
        return OffsetDateTime.of(d, t, off);
    }

    /* what PostgreSQL's infinity spellings stand for, or null for any other text */
    private static <T> T infinity(String s, T positive, T negative) {
        return s.equals("infinity") ? positive : s.equals("-infinity") ? negative : null;
    }
}
