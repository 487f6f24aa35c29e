-- Messages are indexed for search after their append commits, in passes of their own
-- (server/src/store/search_index.rs), no longer by a trigger inside the append's transaction:
-- FTS5 wrote a segment per commit, a third of what storing a message cost. A message not yet
-- indexed is one above its room's highest `seq` in `message_search_keys`; the first pass after
-- the server starts indexes those of every room. The edit and delete triggers stay: they keep
-- what is indexed right, and do nothing for a message not indexed yet.
DROP TRIGGER message_search_insert;
