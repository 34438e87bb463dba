CREATE TABLE city (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO city VALUES (1, 'Lyon'), (2, 'Porto');
