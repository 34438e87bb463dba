INSERT INTO note (body, tags) VALUES ('first', '{a}'), ('second', '{a,b}');
