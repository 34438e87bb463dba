package dev.pgembed;

import java.util.Arrays;
import java.util.Objects;

/**
 * A value of pgvector's {@code sparsevec} type: a vector of {@code dimensions} elements of which only the
 * non-zero ones are stored, as ascending 0-based indices and their values. (pgvector's text form numbers
 * the elements from 1: {@code {1:1.5,3:2}/5} is indices 0 and 2.)
 *
 * <p>A parameter of this class is sent as a {@code sparsevec} in its binary form; a {@code sparsevec}
 * column reads as one ({@link Row#getObject(int)}). The arrays are copied in and out: a value does not
 * change once made.
 *
 * @param dimensions the number of elements, zero or not (1 to 1 000 000 in pgvector)
 * @param indices    the 0-based positions of the non-zero elements, strictly ascending
 * @param values     their values, none of them zero, NaN or infinite
 */
public record SparseVector(int dimensions, int[] indices, float[] values) {
    /**
     * Checks and copies the arrays.
     *
     * @throws IllegalArgumentException when the arrays differ in length, an index is out of range or not
     *                                  ascending, or a value is zero, NaN or infinite
     */
    public SparseVector {
        Objects.requireNonNull(indices, "indices");
        Objects.requireNonNull(values, "values");
        if (dimensions < 1) {
            throw new IllegalArgumentException("a sparsevec has at least 1 dimension, not " + dimensions);
        }
        if (indices.length != values.length) {
            throw new IllegalArgumentException(indices.length + " indices but " + values.length + " values");
        }
        indices = indices.clone();
        values = values.clone();
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= dimensions) {
                throw new IllegalArgumentException("index " + indices[i] + " is outside 0.." + (dimensions - 1));
            }
            if (i > 0 && indices[i] <= indices[i - 1]) {
                throw new IllegalArgumentException("indices must ascend: " + indices[i - 1] + " before " + indices[i]);
            }
            if (values[i] == 0 || !Float.isFinite(values[i])) {
                throw new IllegalArgumentException("the value at index " + indices[i] + " is " + values[i]
                        + ": stored values are finite and not zero");
            }
        }
    }

    /**
     * The non-zero elements of a dense vector.
     *
     * @param dense the vector's elements, all of them
     * @return the sparse form
     */
    public static SparseVector of(float[] dense) {
        int n = 0;
        for (float f : dense) {
            if (f != 0) {
                n++;
            }
        }
        int[] idx = new int[n];
        float[] val = new float[n];
        for (int i = 0, j = 0; i < dense.length; i++) {
            if (dense[i] != 0) {
                idx[j] = i;
                val[j++] = dense[i];
            }
        }
        return new SparseVector(dense.length, idx, val);
    }

    /** {@return a copy of the indices} */
    @Override
    public int[] indices() {
        return indices.clone();
    }

    /** {@return a copy of the values} */
    @Override
    public float[] values() {
        return values.clone();
    }

    /** {@return the number of non-zero elements} */
    public int nonZeroCount() {
        return indices.length;
    }

    /** {@return the dense form: {@code dimensions} elements, zero where nothing is stored} */
    public float[] toArray() {
        float[] dense = new float[dimensions];
        for (int i = 0; i < indices.length; i++) {
            dense[indices[i]] = values[i];
        }
        return dense;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SparseVector s
                && s.dimensions == dimensions
                && Arrays.equals(s.indices, indices)
                && Arrays.equals(s.values, values);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * dimensions + Arrays.hashCode(indices)) + Arrays.hashCode(values);
    }

    /** pgvector's text form, {@code {1:1.5,3:2}/5} (1-based indices). */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < indices.length; i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(indices[i] + 1).append(':').append(FloatText.of(values[i]));
        }
        return b.append("}/").append(dimensions).toString();
    }
}
