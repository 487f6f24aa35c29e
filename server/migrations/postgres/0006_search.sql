-- Full-text search over message bodies (PostgreSQL's own engine).
--
-- The `simple` configuration splits words and folds case but neither stems nor drops stop
-- words: a team chat mixes languages, code and names, and "the" or "deploy" must find exactly
-- those words. The vector is a stored generated column, so every write keeps it right (an edit
-- replaces it, a deletion clears the body and with it the words) without triggers.
ALTER TABLE messages
    ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;

CREATE INDEX messages_search ON messages USING GIN (search);
