-- Full-text search over message bodies (FTS5, SQLite's own engine).
--
-- `messages` has no integer rowid (it is WITHOUT ROWID, keyed by room and sequence number), and
-- an FTS5 index is keyed by one, so each searchable message gets an integer key here. Keys grow
-- in the order messages are stored: the search reads matches newest first by key and stops as
-- soon as it has enough in the person's rooms. An edit keeps the message's key.
CREATE TABLE message_search_keys (
    key     INTEGER PRIMARY KEY,
    room_id TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    UNIQUE (room_id, seq)
);

-- Contentless: the index holds only the words, the text stays in `messages` alone.
-- `contentless_delete` lets the triggers remove a message's words by key. `unicode61` splits on
-- anything but letters and digits and folds case and diacritics; the `prefix` index makes
-- `"dep"*` as cheap as a whole word. `room` holds the message's room as one token (the id's
-- bytes in hex, so no room name splits into words or looks like a searched word; searches match
-- words in `body` only): a search within one room reads only that room's matches, not every
-- match of a common word elsewhere.
CREATE VIRTUAL TABLE message_search USING fts5(
    body,
    room,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '3'
);

CREATE TRIGGER message_search_insert AFTER INSERT ON messages WHEN NOT new.deleted BEGIN
    INSERT INTO message_search_keys (room_id, seq) VALUES (new.room_id, new.seq);
    INSERT INTO message_search (rowid, body, room)
        VALUES (last_insert_rowid(), new.body, hex(new.room_id));
END;

-- An edit replaces the words; a deletion removes them (its key stays, unused).
CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted ON messages BEGIN
    DELETE FROM message_search WHERE rowid =
        (SELECT key FROM message_search_keys WHERE room_id = old.room_id AND seq = old.seq);
    INSERT INTO message_search (rowid, body, room)
        SELECT key, new.body, hex(new.room_id) FROM message_search_keys
        WHERE room_id = new.room_id AND seq = new.seq AND NOT new.deleted;
END;

-- Messages go with their room (a cascade, which fires this trigger too).
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE rowid =
        (SELECT key FROM message_search_keys WHERE room_id = old.room_id AND seq = old.seq);
    DELETE FROM message_search_keys WHERE room_id = old.room_id AND seq = old.seq;
END;

-- Messages stored before this migration, oldest first.
INSERT INTO message_search_keys (room_id, seq)
    SELECT room_id, seq FROM messages WHERE NOT deleted ORDER BY sent_at, room_id, seq;
INSERT INTO message_search (rowid, body, room)
    SELECT k.key, m.body, hex(m.room_id) FROM message_search_keys k
    JOIN messages m ON m.room_id = k.room_id AND m.seq = k.seq;
