package com.example.notes;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** A notes service: Spring MVC, Spring Data JPA and Flyway on an embedded PostgreSQL. */
@SpringBootApplication
public class NotesApplication {

    /**
     * Starts the application.
     *
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        SpringApplication.run(NotesApplication.class, args);
    }
}
