package dev.pgembed.spring.test;

import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestContext;
import org.springframework.test.context.TestContextAnnotationUtils;
import org.springframework.test.context.support.AbstractTestExecutionListener;

/**
 * Closes the context of a {@link FreshPgEmbedDatabase} class after the class: a context kept in Spring's cache
 * would keep its database, and one of the process's at most 15 engines, open until the JVM exits. Registered in
 * {@code META-INF/spring.factories}.
 */
public final class FreshDatabaseTestExecutionListener extends AbstractTestExecutionListener {

    /** Created by Spring's test framework. */
    public FreshDatabaseTestExecutionListener() {}

    @Override
    public void afterTestClass(TestContext testContext) {
        if (TestContextAnnotationUtils.findMergedAnnotation(testContext.getTestClass(), FreshPgEmbedDatabase.class)
                != null) {
            testContext.markApplicationContextDirty(DirtiesContext.HierarchyMode.EXHAUSTIVE);
        }
    }

    /** Late, after the listeners that use the context. */
    @Override
    public int getOrder() {
        return 10_000;
    }
}
