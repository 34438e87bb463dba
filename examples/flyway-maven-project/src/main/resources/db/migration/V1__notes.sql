CREATE TABLE note (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title   text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
