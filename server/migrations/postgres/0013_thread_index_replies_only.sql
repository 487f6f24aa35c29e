-- Only replies in the thread index (as SQLite's 0016): its one query asks for the replies to a
-- message (`thread_of = $1`), but the index held an entry for every message, nearly all of them
-- with no thread, and each append wrote to it for nothing. PostgreSQL uses a partial index
-- when the query's `thread_of = …` implies its condition.
DROP INDEX messages_by_thread;
CREATE INDEX messages_by_thread ON messages (thread_of, seq) WHERE thread_of IS NOT NULL;
