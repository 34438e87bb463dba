package dev.pgembed;

/**
 * A column of a {@link Result}.
 *
 * @param name    the column's name (its label in the select list)
 * @param typeOid the OID of its PostgreSQL type (23 int4, 25 text, ... see {@code pg_type})
 * @param typmod  the type modifier (for example the length of {@code varchar(n)} plus 4), or -1
 * @param format  0 when the values are in PostgreSQL's text form, 1 when in binary form
 */
public record Column(String name, int typeOid, int typmod, int format) {}
