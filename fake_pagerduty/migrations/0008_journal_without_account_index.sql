-- No query reads the journal by account alone (an account's entry is read by id, the primary key), and
-- every event paid for keeping this index: one more B-tree insert and one more page written per batch.
DROP INDEX IF EXISTS events_account;
