CREATE FUNCTION notes_tagged(t text) RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT count(*) FROM note WHERE t = ANY (tags) $$;
