-- Only replies in the thread index. Its one query asks for the replies to a message
-- (`thread_of = $1`), but the index held an entry for every message, nearly all of them with
-- no thread: each append wrote a page of it for nothing, and the file carried an entry per
-- message. SQLite uses a partial index when the query's `thread_of = …` implies its condition.
DROP INDEX messages_by_thread;
CREATE INDEX messages_by_thread ON messages (thread_of, seq) WHERE thread_of IS NOT NULL;
