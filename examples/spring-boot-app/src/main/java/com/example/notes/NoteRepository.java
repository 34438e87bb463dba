package com.example.notes;

import java.util.List;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Query;

/** Notes in the database. */
public interface NoteRepository extends JpaRepository<Note, Long> {

    /**
     * @param word a word
     * @return the notes whose title contains it, case-insensitively
     */
    @Query("SELECT n FROM Note n WHERE lower(n.title) LIKE lower(concat('%', ?1, '%')) ORDER BY n.id")
    List<Note> findByTitleWord(String word);
}
