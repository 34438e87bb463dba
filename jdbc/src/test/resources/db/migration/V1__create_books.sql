CREATE TABLE author (
    id   bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE
);
CREATE TABLE book (
    id        bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES author,
    title     text NOT NULL
);
