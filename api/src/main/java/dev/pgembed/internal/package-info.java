/**
 * <b>Internal, not API</b>: the native loader and the engine bridge that pgembed's JDBC module shares with the
 * Java API. The package is exported to {@code dev.pgembed.jdbc} only; on the class path it is visible, but
 * may change in any release.
 */
@NullMarked
package dev.pgembed.internal;

import org.jspecify.annotations.NullMarked;
