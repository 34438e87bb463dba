CREATE TABLE account (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL);
INSERT INTO account VALUES (1, 'ada', 100.00), (2, 'grace', 250.50);
