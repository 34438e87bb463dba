package dev.pgembed;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.List;

/** PostgreSQL's text form of one-dimensional arrays: written for parameters, parsed from results. */
final class ArrayText {
    private ArrayText() {}

    /** The literal of a one-dimensional Java array of the element type's parameter classes. */
    static String format(Object a, PgType element) {
        int n = Array.getLength(a);
        StringBuilder sb = new StringBuilder(2 + n * 4).append('{');
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append(',');
            }
            Object e = Array.get(a, i);
            if (e == null) {
                sb.append("NULL");
            } else if (element.bareInArrays) {
                sb.append(element.text(e));
            } else {
                String s = element.text(e);
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
}
