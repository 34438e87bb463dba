INSERT INTO author (name) VALUES ('Ursula K. Le Guin'), ('Stanisław Lem');
INSERT INTO book (author_id, title)
SELECT id, t FROM author, unnest(ARRAY['A Wizard of Earthsea', 'The Dispossessed']) t WHERE name LIKE 'Ursula%';
INSERT INTO book (author_id, title) SELECT id, 'Solaris' FROM author WHERE name = 'Stanisław Lem';
