package dev.pgembed.spring;

import dev.pgembed.jdbc.PgEmbedUrl;
import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Matches when the starter is enabled and the data source is pgembed's: {@code spring.datasource.url} is a
 * {@code jdbc:pgembed:} URL or is not set at all (as Boot offers an embedded database when no URL is set), or a
 * test class asked for a fresh database ({@code @FreshPgEmbedDatabase}).
 */
final class OnPgEmbedDatabaseCondition extends SpringBootCondition {
    static final String URL_PROPERTY = "spring.datasource.url";

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        ConditionMessage.Builder message = ConditionMessage.forCondition("pgembed database");
        Environment env = context.getEnvironment();
        if (!env.getProperty("spring.pgembed.enabled", Boolean.class, true)) {
            return ConditionOutcome.noMatch(message.because("spring.pgembed.enabled is false"));
        }
        if (env.containsProperty(PgEmbedDatabase.FRESH_FOR_TEST_PROPERTY)) {
            return ConditionOutcome.match(message.because("the test class asks for a fresh database"));
        }
        String url = env.getProperty(URL_PROPERTY);
        if (url == null || url.isBlank()) {
            return ConditionOutcome.match(message.because(URL_PROPERTY + " is not set"));
        }
        if (PgEmbedUrl.accepts(url.trim())) {
            return ConditionOutcome.match(message.because(URL_PROPERTY + " is a jdbc:pgembed: URL"));
        }
        return ConditionOutcome.noMatch(message.because(URL_PROPERTY + " is another database's"));
    }
}
