CREATE TABLE ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     account int NOT NULL REFERENCES account, amount numeric(12,2) NOT NULL);
CREATE INDEX ledger_account ON ledger (account);
