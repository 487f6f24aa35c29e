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

-- One GIN index over the room and the words (`btree_gin` lets GIN index a plain column; it
-- ships with PostgreSQL and is a trusted extension, so the database owner may create it): a
-- search reads only the matches in the person's rooms, not every match of a common word.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX messages_search ON messages USING GIN (room_id, search);
