package dev.pgembed;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The PostgreSQL types pgembed maps to Java, one row each (as PGlite's {@code types.ts}): the type's OID and
 * its array type's, the Java class of its values, the classes a parameter of the type may have and its text
 * form, how {@link Row#getObject(int)} reads a value, and how an element of an array is read from the
 * array's text. {@link Params} (parameters), {@link Row} (getObject) and {@link ArrayText} (arrays both
 * ways) look types up here, so a new type is one row, plus its line in the type lists of the Javadoc of
 * {@link PgEmbedded#query(String, Object...)} (parameters) and of {@link Row} (results).
 *
 * <p>Not in the table: the binary forms of the built-in types. Results come in binary only for the types
 * the C front chooses under {@code PGEMBED_FORMAT_AUTO} (its {@code is_binary_friendly}: bool, int2, int4,
 * int8, oid, float4, float8, and the extension types it is told of); {@link Row}'s typed getters read those
 * in place, switching on the {@link Oid} constants, since each getter converts them its own way on the hot
 * path. A byte[] parameter (bytea) is sent in binary as it is.
 *
 * <p>The rows of an extension's types (pgvector's vector, halfvec, sparsevec) have no fixed OID: a database
 * gives them theirs when the extension is created, and {@link ExtensionTypes} finds them by name. Their values
 * travel in binary both ways ({@link VectorCodec}); a row names the Java classes it encodes when a statement
 * declares a parameter of its type (a float[] for a vector parameter).
 *
 * <p>The order of the rows is the order in which the message about an unsupported parameter lists the
 * parameter classes.
 */
enum PgType {
    INT4(type(Oid.INT4, Oid.INT4_ARRAY, Integer.class)
            .parameter(v -> Integer.toString((Integer) v), int[].class)
            .bareInArrays()
            .read(Getter.INT)
            .elements(Integer::valueOf)),
    INT8(type(Oid.INT8, Oid.INT8_ARRAY, Long.class)
            .parameter(v -> Long.toString((Long) v), long[].class)
            .bareInArrays()
            .read(Getter.LONG)
            .elements(Long::valueOf)),
    INT2(type(Oid.INT2, Oid.INT2_ARRAY, Short.class)
            .parameter(v -> Short.toString((Short) v), short[].class)
            .bareInArrays()
            .read(Getter.SHORT)
            .elements(Short::valueOf)),
    FLOAT8(type(Oid.FLOAT8, Oid.FLOAT8_ARRAY, Double.class)
            .parameter(v -> Double.toString((Double) v), double[].class)
            .bareInArrays()
            .read(Getter.DOUBLE)
            .elements(Double::valueOf)),
    FLOAT4(type(Oid.FLOAT4, Oid.FLOAT4_ARRAY, Float.class)
            .parameter(v -> Float.toString((Float) v), float[].class)
            .bareInArrays()
            .read(Getter.FLOAT)
            .elements(Float::valueOf)),
    NUMERIC(type(Oid.NUMERIC, Oid.NUMERIC_ARRAY, BigDecimal.class)
            .parameter(v -> ((BigDecimal) v).toPlainString())
            .bareInArrays()
            .read(Getter.NUMERIC)
            .elements(BigDecimal::new)),
    /* a String parameter is sent as type 0, unknown: PostgreSQL infers its type, so it serves any column */
    TEXT(type(Oid.TEXT, Oid.TEXT_ARRAY, String.class)
            .parameter(v -> (String) v)
            .sentAsUnknown()
            .read(Getter.STRING)
            .elements(e -> e)),
    /* sent in binary, as it is */
    BYTEA(type(Oid.BYTEA, 0, byte[].class).parameterInBinary().read(Getter.BYTES)),
    BOOL(type(Oid.BOOL, Oid.BOOL_ARRAY, Boolean.class)
            .parameter(v -> (Boolean) v ? "t" : "f", boolean[].class)
            .bareInArrays()
            .read(Getter.BOOLEAN)
            .elements(e -> e.equals("t") || e.equals("true"))),
    UUID(type(Oid.UUID, Oid.UUID_ARRAY, java.util.UUID.class)
            .parameter(v -> ((java.util.UUID) v).toString())
            .read(Getter.UUID)
            .elements(java.util.UUID::fromString)),
    DATE(type(Oid.DATE, Oid.DATE_ARRAY, LocalDate.class)
            .parameter(v -> TemporalText.formatDate((LocalDate) v))
            .read(Getter.LOCAL_DATE)
            .elements(TemporalText::parseDate)),
    TIME(type(Oid.TIME, Oid.TIME_ARRAY, LocalTime.class)
            .parameter(v -> ((LocalTime) v).toString())
            .read(Getter.LOCAL_TIME)
            .elements(TemporalText::parseTime)),
    TIMESTAMP(type(Oid.TIMESTAMP, Oid.TIMESTAMP_ARRAY, LocalDateTime.class)
            .parameter(v -> TemporalText.formatTimestamp((LocalDateTime) v, null))
            .read(Getter.LOCAL_DATE_TIME)
            .elements(e -> TemporalText.parseTimestamp(e).toLocalDateTime())),
    /* an Instant parameter is a timestamptz too; results give OffsetDateTime */
    TIMESTAMPTZ(type(Oid.TIMESTAMPTZ, Oid.TIMESTAMPTZ_ARRAY, OffsetDateTime.class)
            .parameter(v -> v instanceof Instant i
                    ? TemporalText.formatInstant(i)
                    : TemporalText.formatOffsetDateTime((OffsetDateTime) v))
            .alsoAccepting(Instant.class)
            .read(Getter.OFFSET_DATE_TIME)
            .elements(TemporalText::parseTimestamp)),
    // results only
    OID(type(Oid.OID, 0, Long.class).read(Getter.LONG)),
    VARCHAR(type(Oid.VARCHAR, Oid.VARCHAR_ARRAY, String.class)
            .read(Getter.STRING)
            .elements(e -> e)),
    BPCHAR(type(Oid.BPCHAR, Oid.BPCHAR_ARRAY, String.class).read(Getter.STRING).elements(e -> e)),
    // pgvector: a float[] is a vector or halfvec where the statement declares one, a SparseVector always a sparsevec
    VECTOR(extension("vector", "vector", float[].class)
            .read(Getter.FLOAT_ARRAY)
            .binary(float[].class, v -> VectorCodec.vector((float[]) v))),
    HALFVEC(extension("vector", "halfvec", float[].class)
            .read(Getter.FLOAT_ARRAY)
            .binary(float[].class, v -> VectorCodec.halfvec((float[]) v))),
    SPARSEVEC(extension("vector", "sparsevec", SparseVector.class)
            .extensionParameter()
            .read(Getter.SPARSE_VECTOR)
            .binary(SparseVector.class, v -> VectorCodec.sparsevec((SparseVector) v))
            .binary(float[].class, v -> VectorCodec.sparsevec(SparseVector.of((float[]) v))));

    /** Type OIDs (as in PostgreSQL's pg_type.dat); an array type's is its element type's name + _ARRAY. */
    static final class Oid {
        /** A parameter of type 0: PostgreSQL infers its type from the statement. */
        static final int UNSPECIFIED = 0;

        static final int BOOL = 16;
        static final int BYTEA = 17;
        static final int INT8 = 20;
        static final int INT2 = 21;
        static final int INT4 = 23;
        static final int TEXT = 25;
        static final int OID = 26;
        static final int FLOAT4 = 700;
        static final int FLOAT8 = 701;
        static final int BOOL_ARRAY = 1000;
        static final int INT2_ARRAY = 1005;
        static final int INT4_ARRAY = 1007;
        static final int TEXT_ARRAY = 1009;
        static final int BPCHAR_ARRAY = 1014;
        static final int VARCHAR_ARRAY = 1015;
        static final int INT8_ARRAY = 1016;
        static final int FLOAT4_ARRAY = 1021;
        static final int FLOAT8_ARRAY = 1022;
        static final int BPCHAR = 1042;
        static final int VARCHAR = 1043;
        static final int DATE = 1082;
        static final int TIME = 1083;
        static final int TIMESTAMP = 1114;
        static final int TIMESTAMP_ARRAY = 1115;
        static final int DATE_ARRAY = 1182;
        static final int TIME_ARRAY = 1183;
        static final int TIMESTAMPTZ = 1184;
        static final int TIMESTAMPTZ_ARRAY = 1185;
        static final int NUMERIC_ARRAY = 1231;
        static final int NUMERIC = 1700;
        static final int UUID = 2950;
        static final int UUID_ARRAY = 2951;

        private Oid() {}
    }

    /**
     * The getter of {@link Row} with which {@link Row#getObject(int)} reads a value of the type (NUMERIC: as
     * BigDecimal, or as Double for NaN and the infinities, which BigDecimal cannot hold).
     */
    enum Getter {
        BOOLEAN,
        SHORT,
        INT,
        LONG,
        FLOAT,
        DOUBLE,
        NUMERIC,
        BYTES,
        UUID,
        LOCAL_DATE,
        LOCAL_TIME,
        LOCAL_DATE_TIME,
        OFFSET_DATE_TIME,
        STRING,
        FLOAT_ARRAY,
        SPARSE_VECTOR
    }

    /** The type's OID; 0 for an extension's type, whose OID is its database's (see {@link ExtensionTypes}). */
    final int oid;
    /** For an extension's type: the extension and the type's name; null for the built-in types. */
    final String extension;

    final String typeName;
    /** Its array type's OID; 0 when arrays of it are neither parameters nor read as Java arrays. */
    final int arrayOid;
    /** The class of its values in results (and of an array's elements). */
    final Class<?> javaClass;
    /* the classes of parameters of the type (empty: a type of results only) and the primitive array class */
    private final List<Class<?>> parameterClasses;
    private final Class<?> primitiveArray;
    private final Function<Object, String> text;
    private final int parameterOid;
    private final boolean binaryParameter;
    /** True when an array literal holds the text of an element as it is; false when it quotes it. */
    final boolean bareInArrays;
    /** How getObject reads a value of the type. */
    final Getter getter;

    private final Function<String, ?> elements;
    /* the classes of values sent in the type's binary form, with their encoders (extension types) */
    private final List<Class<?>> binaryClasses;
    private final List<Function<Object, byte[]>> binaryEncoders;

    PgType(Spec s) {
        this.oid = s.oid;
        this.extension = s.extension;
        this.typeName = s.typeName;
        this.binaryClasses = List.copyOf(s.binaryClasses);
        this.binaryEncoders = List.copyOf(s.binaryEncoders);
        this.arrayOid = s.arrayOid;
        this.javaClass = s.javaClass;
        this.parameterClasses = List.copyOf(s.parameterClasses);
        this.primitiveArray = s.primitiveArray;
        this.text = s.text;
        this.parameterOid = s.unknown ? Oid.UNSPECIFIED : s.oid;
        this.binaryParameter = s.binary;
        this.bareInArrays = s.bare;
        this.getter = s.getter;
        this.elements = s.elements;
    }

    /** The text form of a parameter of the type (one of its parameter classes, not an array). */
    String text(Object v) {
        return text.apply(v);
    }

    /** True for an extension's type (no fixed OID). */
    boolean isExtension() {
        return extension != null;
    }

    /** v in the type's binary form, or null when the type does not take v's class so. */
    byte[] binary(Object v) {
        for (int i = 0; i < binaryClasses.size(); i++) {
            if (binaryClasses.get(i).isInstance(v)) {
                return binaryEncoders.get(i).apply(v);
            }
        }
        return null;
    }

    /** An array's elements read from their text (null elements stay null), in an array of the type's class. */
    Object[] elements(List<String> texts) {
        Object[] a = (Object[]) Array.newInstance(javaClass, texts.size());
        for (int i = 0; i < a.length; i++) {
            String e = texts.get(i);
            a[i] = e == null ? null : elements.apply(e);
        }
        return a;
    }

    // ---- lookups -----------------------------------------------------------------------------------

    /** A Java class accepted as a parameter: of a type, or an array of it. */
    record Parameter(PgType type, boolean array) {
        /** The OID the parameter is declared with. */
        int oid() {
            return array ? type.arrayOid : type.parameterOid;
        }

        /** True when the value is sent as its bytes, in binary; else as {@link #text(Object)}. */
        boolean binary() {
            return !array && type.binaryParameter;
        }

        String text(Object v) {
            return array ? ArrayText.format(v, type) : type.text(v);
        }
    }

    private static final Parameter UNSUPPORTED = new Parameter(null, false);

    private static final ClassValue<Parameter> PARAMETERS = new ClassValue<>() {
        @Override
        protected Parameter computeValue(Class<?> c) {
            for (PgType t : values()) {
                for (Class<?> k : t.parameterClasses) {
                    if (k.isAssignableFrom(c)) {
                        return new Parameter(t, false);
                    }
                    if (t.arrayOid != 0 && k.arrayType().isAssignableFrom(c)) {
                        return new Parameter(t, true);
                    }
                }
                if (t.primitiveArray == c) {
                    return new Parameter(t, true);
                }
            }
            return UNSUPPORTED;
        }
    };

    /** The parameter classes in the table's order, for messages: "Integer, Long, ...". */
    static final String PARAMETER_CLASSES;

    private static final PgType[] BY_OID;
    private static final PgType[] BY_ARRAY_OID;

    static {
        List<String> names = new ArrayList<>();
        int max = 0;
        for (PgType t : values()) {
            t.parameterClasses.forEach(c -> names.add(c.getSimpleName()));
            max = Math.max(max, Math.max(t.oid, t.arrayOid));
        }
        PARAMETER_CLASSES = String.join(", ", names);
        BY_OID = new PgType[max + 1];
        BY_ARRAY_OID = new PgType[max + 1];
        for (PgType t : values()) {
            if (!t.isExtension()) {
                BY_OID[t.oid] = t;
            }
            if (t.arrayOid != 0) {
                BY_ARRAY_OID[t.arrayOid] = t;
            }
        }
    }

    /** How a value of class c is sent as a parameter, or null when c is not supported. */
    static Parameter parameter(Class<?> c) {
        Parameter p = PARAMETERS.get(c);
        return p == UNSUPPORTED ? null : p;
    }

    /** The built-in type of an OID, or null when the table has none (extension types: {@link ExtensionTypes}). */
    static PgType ofOid(int oid) {
        return oid >= 0 && oid < BY_OID.length ? BY_OID[oid] : null;
    }

    /** The element type of an array type's OID, or null when the table has none. */
    static PgType ofArrayOid(int oid) {
        return oid > 0 && oid < BY_ARRAY_OID.length ? BY_ARRAY_OID[oid] : null;
    }

    // ---- building the rows -------------------------------------------------------------------------

    private static Spec type(int oid, int arrayOid, Class<?> javaClass) {
        return new Spec(oid, arrayOid, javaClass);
    }

    private static Spec extension(String extension, String typeName, Class<?> javaClass) {
        Spec s = new Spec(0, 0, javaClass);
        s.extension = extension;
        s.typeName = typeName;
        return s;
    }

    /** One row while it is written: what the constructor reads. */
    private static final class Spec {
        final int oid;
        final int arrayOid;
        final Class<?> javaClass;
        final List<Class<?>> parameterClasses = new ArrayList<>();
        Class<?> primitiveArray;
        Function<Object, String> text;
        boolean unknown;
        boolean binary;
        boolean bare;
        Getter getter;
        Function<String, ?> elements;
        String extension;
        String typeName;
        final List<Class<?>> binaryClasses = new ArrayList<>();
        final List<Function<Object, byte[]>> binaryEncoders = new ArrayList<>();

        Spec(int oid, int arrayOid, Class<?> javaClass) {
            this.oid = oid;
            this.arrayOid = arrayOid;
            this.javaClass = javaClass;
        }

        /* values of javaClass (and arrays of them, when the type has an array type) are parameters */
        Spec parameter(Function<Object, String> text) {
            this.parameterClasses.add(javaClass);
            this.text = text;
            return this;
        }

        /* ... and so are values of the primitive array class */
        Spec parameter(Function<Object, String> text, Class<?> primitiveArray) {
            this.primitiveArray = primitiveArray;
            return parameter(text);
        }

        Spec parameterInBinary() {
            this.parameterClasses.add(javaClass);
            this.binary = true;
            return this;
        }

        /* values of c too (and arrays of them), in the same text form */
        Spec alsoAccepting(Class<?> c) {
            this.parameterClasses.add(c);
            return this;
        }

        Spec sentAsUnknown() {
            this.unknown = true;
            return this;
        }

        Spec bareInArrays() {
            this.bare = true;
            return this;
        }

        Spec read(Getter g) {
            this.getter = g;
            return this;
        }

        Spec elements(Function<String, ?> f) {
            this.elements = f;
            return this;
        }

        /* values of javaClass are parameters of this extension type (sent in its binary form) */
        Spec extensionParameter() {
            this.parameterClasses.add(javaClass);
            return this;
        }

        /* values of c are sent in the type's binary form, encoded by f */
        Spec binary(Class<?> c, Function<Object, byte[]> f) {
            this.binaryClasses.add(c);
            this.binaryEncoders.add(f);
            return this;
        }
    }
}
