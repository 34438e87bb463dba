package dev.pgembed;

import java.lang.reflect.Array;
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

/** PostgreSQL's text form of one-dimensional arrays: written for parameters, parsed from results. */
final class ArrayText {
    private ArrayText() {
    }

    /** The literal of a one-dimensional Java array (of a type {@link Params} supports) as a parameter. */
    static String format(Object a) {
        int n = Array.getLength(a);
        StringBuilder sb = new StringBuilder(2 + n * 4).append('{');
        boolean numeric = a instanceof int[] || a instanceof long[] || a instanceof short[] || a instanceof double[]
                || a instanceof float[] || a instanceof Integer[] || a instanceof Long[] || a instanceof Short[]
                || a instanceof Double[] || a instanceof Float[] || a instanceof BigDecimal[];
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append(',');
            }
            Object e = Array.get(a, i);
            if (e == null) {
                sb.append("NULL");
            } else if (numeric || e instanceof Boolean) {
                sb.append(Params.text(e));
            } else {
                String s = Params.text(e);
                sb.append('"');
                for (int k = 0; k < s.length(); k++) {
                    char c = s.charAt(k);
                    if (c == '"' || c == '\\') {
                        sb.append('\\');
                    }
                    sb.append(c);
                }
                sb.append('"');
            }
        }
        return sb.append('}').toString();
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
