package dev.pgembed;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * PostgreSQL's text form of float4 and float8 values, as float4out/float8out print them with
 * extra_float_digits &gt; 0 (the default is 1): the shortest decimal that reads back as the same value
 * (Ryu), in fixed notation for decimal exponents from -4 to 14 (float4: to 5), otherwise as
 * {@code d.ddde+XX}; {@code NaN}, {@code Infinity}, {@code -Infinity}, {@code -0}.
 *
 * <p>Java's {@code Double.toString} (JDK 19 and later) yields the shortest decimal too, but differs in two
 * cases handled here: when one digit would do it may choose a closer two-digit decimal ({@code 4.9E-324}
 * where Ryu gives {@code 5e-324}), and it accepts a decimal exactly halfway to the neighbouring value.
 */
final class FloatText {
    private FloatText() {}

    static String of(double d) {
        String special = special(d);
        if (special != null) {
            return special;
        }
        double x = Math.abs(d);
        return shortestText(
                d < 0,
                new BigDecimal(x),
                new BigDecimal(Math.nextDown(x)),
                new BigDecimal(Math.ulp(x)),
                Double.toString(x),
                17,
                15);
    }

    static String of(float f) {
        String special = special(f);
        if (special != null) {
            return special;
        }
        float x = Math.abs(f);
        return shortestText(
                f < 0,
                new BigDecimal(x),
                new BigDecimal(Math.nextDown(x)),
                new BigDecimal(Math.ulp(x)),
                Float.toString(x),
                9,
                6);
    }

    /* NaN, the infinities and the zeros; a float widens to a double without changing which it is */
    private static String special(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return Double.doubleToRawLongBits(d) < 0 ? "-0" : "0";
        }
        return null;
    }

    /* the shortest decimal strictly inside the value's rounding interval, in PostgreSQL's notation */
    private static String shortestText(
            boolean negative,
            BigDecimal exact,
            BigDecimal below,
            BigDecimal ulp,
            String java,
            int maxDigits,
            int fixedLimit) {
        BigDecimal lo = exact.subtract(exact.subtract(below).multiply(HALF));
        BigDecimal hi = exact.add(ulp.multiply(HALF));
        return format(negative, shortest(new BigDecimal(java), exact, lo, hi, maxDigits), fixedLimit);
    }

    private static final BigDecimal HALF = new BigDecimal("0.5");

    /*
     * PostgreSQL's Ryu is built without STRICTLY_SHORTEST: a decimal exactly halfway to a neighbouring value
     * is never chosen, although it would read back correctly (round half to even), where Java accepts it
     * (1e23 prints as 9.999999999999999e+22). So the decimal must lie strictly between lo and hi; Java's
     * choice is the answer when it does (and has two digits or more), else the shortest such decimal,
     * the closest to the exact value.
     */
    private static BigDecimal shortest(BigDecimal java, BigDecimal exact, BigDecimal lo, BigDecimal hi, int maxDigits) {
        BigDecimal j = java.stripTrailingZeros();
        boolean inside = j.compareTo(lo) > 0 && j.compareTo(hi) < 0;
        if (inside && j.precision() > 2) {
            return j;
        }
        int from = j.precision() <= 2 ? 1 : j.precision();
        for (int n = from; n <= maxDigits; n++) {
            BigDecimal down = exact.round(new MathContext(n, RoundingMode.FLOOR));
            BigDecimal up = exact.round(new MathContext(n, RoundingMode.CEILING));
            boolean downIn = down.compareTo(lo) > 0;
            boolean upIn = up.compareTo(hi) < 0;
            if (downIn && upIn) {
                int c = exact.subtract(down).compareTo(up.subtract(exact));
                if (c == 0) {
                    return (down.unscaledValue().testBit(0) ? up : down).stripTrailingZeros();
                }
                return (c < 0 ? down : up).stripTrailingZeros();
            }
            if (downIn || upIn) {
                return (downIn ? down : up).stripTrailingZeros();
            }
        }
        return j;
    }

    /* d2s.c/f2s.c to_chars: fixed notation when -4 <= exponent < limit, else d.ddde+XX (at least two exponent digits) */
    private static String format(boolean negative, BigDecimal dec, int limit) {
        String digits = dec.unscaledValue().toString();
        int n = digits.length();
        int exp = n - 1 - dec.scale();
        StringBuilder b = new StringBuilder(32);
        if (negative) {
            b.append('-');
        }
        if (exp >= -4 && exp < limit) {
            if (exp < 0) {
                b.append("0.");
                b.repeat('0', -exp - 1);
                b.append(digits);
            } else if (exp >= n - 1) {
                b.append(digits);
                b.repeat('0', exp - (n - 1));
            } else {
                b.append(digits, 0, exp + 1).append('.').append(digits, exp + 1, n);
            }
            return b.toString();
        }
        b.append(digits.charAt(0));
        if (n > 1) {
            b.append('.').append(digits, 1, n);
        }
        b.append('e').append(exp < 0 ? '-' : '+');
        int e = Math.abs(exp);
        if (e < 10) {
            b.append('0');
        }
        return b.append(e).toString();
    }
}
