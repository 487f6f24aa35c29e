-- Full-text search over message bodies (PostgreSQL's own engine).
--
-- The `simple` configuration folds case but neither stems nor drops stop words: a team chat
-- mixes languages, code and names, and "the" or "deploy" must find exactly those words. ASCII
-- punctuation becomes a space first, so words split as the search splits what is typed (and as
-- SQLite's FTS5 splits them): Postgres's parser would otherwise keep `docs.example.com` or
-- `setup-guide` whole, and "example" would not find them. The pattern names the characters
-- (no character classes), so it does not depend on the database's locale.
--
-- The vector is a stored generated column, so every write keeps it right (an edit replaces it,
-- a deletion clears the body and with it the words) without triggers.
ALTER TABLE messages
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', regexp_replace(body, '[!-/:-@[-`{-~]', ' ', 'g'))
    ) STORED;

CREATE INDEX messages_search ON messages USING GIN (search);
