package dev.pgembed;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Names the artifact to add when PostgreSQL reports an extension missing that pgembed ships as an add-on
 * (PostGIS is in {@code pgembed-postgis}, not in the base payload): PostgreSQL's own hint speaks of "the
 * system where PostgreSQL is running", which for an embedded database is the class path.
 */
final class AddonHint {
    private static final String FEATURE_NOT_SUPPORTED = "0A000";
    private static final Pattern NOT_AVAILABLE = Pattern.compile("extension \"([^\"]+)\" is not available");
    private static final Map<String, String> ARTIFACTS = Map.of(
            "postgis", "dev.pgembed:pgembed-postgis",
            "postgis_topology", "dev.pgembed:pgembed-postgis");

    private AddonHint() {}

    /** The hint to report: PostgreSQL's, followed by the artifact to add when the extension is an add-on's. */
    static @Nullable String of(@Nullable String sqlState, @Nullable String message, @Nullable String hint) {
        if (!FEATURE_NOT_SUPPORTED.equals(sqlState) || message == null) {
            return hint;
        }
        Matcher m = NOT_AVAILABLE.matcher(message);
        String artifact = m.matches() ? ARTIFACTS.get(m.group(1)) : null;
        if (artifact == null) {
            return hint;
        }
        String ours = "pgembed ships " + m.group(1) + " in the artifact " + artifact
                + ": add it as a dependency (same version as pgembed-postgres).";
        return hint == null ? ours : hint + " " + ours;
    }
}
