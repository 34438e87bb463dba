package com.example.notes;

import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** {@code /notes}: list, search and write notes. */
@RestController
@RequestMapping("/notes")
public class NoteController {
    private final NoteRepository notes;

    /** @param notes the repository */
    public NoteController(NoteRepository notes) {
        this.notes = notes;
    }

    /** What a client sends to write a note. */
    public record NewNote(String title, String body) {}

    /**
     * @param note the note to write
     * @return the note as stored
     */
    @PostMapping
    @ResponseStatus(HttpStatus.CREATED)
    public Note create(@RequestBody NewNote note) {
        return notes.saveAndFlush(new Note(note.title(), note.body() == null ? "" : note.body()));
    }

    /**
     * @param q a word to look for in titles, or none for all notes
     * @return the notes
     */
    @GetMapping
    public List<Note> list(@RequestParam(name = "q", required = false) String q) {
        return q == null ? notes.findAll() : notes.findByTitleWord(q);
    }
}
