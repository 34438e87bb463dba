ALTER TABLE book ADD COLUMN published int;
UPDATE book SET published = CASE title WHEN 'Solaris' THEN 1961 WHEN 'The Dispossessed' THEN 1974 ELSE 1968 END;
CREATE FUNCTION books_of(author_name text) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT b.title FROM book b JOIN author a ON a.id = b.author_id WHERE a.name = author_name ORDER BY b.published
$$;
