package com.example.notes;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import java.time.OffsetDateTime;

/** A note; its table comes from Flyway's V1__notes.sql. */
@Entity
public class Note {
    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;

    private String title;
    private String body;

    @Column(insertable = false, updatable = false)
    private OffsetDateTime created;

    /** For JPA. */
    protected Note() {}

    /**
     * @param title the title
     * @param body  the text
     */
    public Note(String title, String body) {
        this.title = title;
        this.body = body;
    }

    /** @return the id, null before it is saved */
    public Long getId() {
        return id;
    }

    /** @return the title */
    public String getTitle() {
        return title;
    }

    /** @return the text */
    public String getBody() {
        return body;
    }

    /** @return when it was written (set by the database) */
    public OffsetDateTime getCreated() {
        return created;
    }
}
