-- Read state that lasts: each membership keeps the last sequence number its person has read in
-- that room, so unread counts come from the server (the same in every tab and browser, and
-- after a reload). Everything posted before this migration counts as read.
ALTER TABLE memberships ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;

UPDATE memberships SET read_seq = (SELECT r.last_seq FROM rooms r WHERE r.id = memberships.room_id);
