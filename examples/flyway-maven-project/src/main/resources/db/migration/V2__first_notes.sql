INSERT INTO note (title) VALUES ('migrated by the Flyway Maven plugin'), ('on jdbc:pgembed:');
CREATE INDEX note_title ON note (title);
