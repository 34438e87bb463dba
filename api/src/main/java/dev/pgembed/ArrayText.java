package dev.pgembed;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.IntFunction;

/** Parses PostgreSQL's text form of one-dimensional arrays. */
final class ArrayText {
    private ArrayText() {
    }

    /** The elements (null for NULL), or null when the text is not a one-dimensional array. */
    static List<String> parse(String s) {
        int i = 0;
        if (s.startsWith("[")) {
            i = s.indexOf('=') + 1;
            if (i <= 0) {
                return null;
            }
        }
        if (i >= s.length() || s.charAt(i) != '{') {
            return null;
        }
        i++;
        List<String> out = new ArrayList<>();
        if (i < s.length() && s.charAt(i) == '}') {
            return out;
        }
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '{') {
                return null; // multidimensional
            }
            if (c == '"') {
                StringBuilder sb = new StringBuilder();
                i++;
                while (i < s.length() && s.charAt(i) != '"') {
                    if (s.charAt(i) == '\\') {
                        i++;
                    }
                    sb.append(s.charAt(i++));
                }
                i++; // closing quote
                out.add(sb.toString());
            } else {
                int start = i;
                while (i < s.length() && s.charAt(i) != ',' && s.charAt(i) != '}') {
                    i++;
                }
                String e = s.substring(start, i).trim();
                out.add(e.equals("NULL") ? null : e);
            }
            if (i >= s.length()) {
                return null;
            }
            if (s.charAt(i) == '}') {
                return out;
            }
            i++; // comma
        }
        return null;
    }

    static Object convert(int arrayType, List<String> elems) {
        return switch (arrayType) {
            case 1000 -> map(elems, Boolean[]::new, e -> e.equals("t") || e.equals("true"));
            case 1005 -> map(elems, Short[]::new, Short::valueOf);
            case 1007 -> map(elems, Integer[]::new, Integer::valueOf);
            case 1016 -> map(elems, Long[]::new, Long::valueOf);
            case 1021 -> map(elems, Float[]::new, Float::valueOf);
            case 1022 -> map(elems, Double[]::new, Double::valueOf);
            case 1231 -> map(elems, BigDecimal[]::new, BigDecimal::new);
            case 2951 -> map(elems, UUID[]::new, UUID::fromString);
            case 1182 -> map(elems, LocalDate[]::new, TemporalText::parseDate);
            case 1183 -> map(elems, LocalTime[]::new, TemporalText::parseTime);
            case 1115 -> map(elems, LocalDateTime[]::new, e -> TemporalText.parseTimestamp(e).toLocalDateTime());
            case 1185 -> map(elems, OffsetDateTime[]::new, TemporalText::parseTimestamp);
            default -> elems.toArray(new String[0]);
        };
    }

    private static <T> T[] map(List<String> elems, IntFunction<T[]> make, Function<String, T> f) {
        T[] a = make.apply(elems.size());
        for (int i = 0; i < a.length; i++) {
            String e = elems.get(i);
            a[i] = e == null ? null : f.apply(e);
        }
        return a;
    }
}
