-- Every change to a room's messages (insert, edit, delete) gets the room's next revision, so a
-- client that was away asks for "everything after revision R" and sees edits and deletions of
-- old messages too, not only new ones.

ALTER TABLE rooms ADD COLUMN last_rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

UPDATE messages SET rev = seq;
UPDATE rooms SET last_rev = last_seq;

CREATE UNIQUE INDEX messages_by_rev ON messages (room_id, rev);
