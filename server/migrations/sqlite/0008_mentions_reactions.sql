-- Mentions, reactions, threads and muted rooms.
--
-- A message keeps its mentions (where in the body, and whom) and its reactions' summary as JSON
-- beside the body, so a page of history is still one query; the tables below are what the
-- summaries are made from and what unread mentions are counted on.
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN reactions TEXT NOT NULL DEFAULT '[]';

-- Threads: a reply names the message it answers (in the same room, never itself a reply); the
-- message answered keeps how many replies it has and when the last came.
ALTER TABLE messages ADD COLUMN thread_of TEXT;
ALTER TABLE messages ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN last_reply_at INTEGER;
CREATE INDEX messages_by_thread ON messages (thread_of, seq);

-- A person muted the room's notifications.
ALTER TABLE memberships ADD COLUMN muted BOOLEAN NOT NULL DEFAULT FALSE;

-- Who each message mentions; user_id '' is `@room` (no person has an empty id).
CREATE TABLE mentions (
    room_id TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id, seq),
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
) WITHOUT ROWID;

-- One row per person, emoji and message: adding the same reaction twice is one row.
CREATE TABLE reactions (
    room_id TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    emoji   TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    at      INTEGER NOT NULL,
    PRIMARY KEY (room_id, seq, emoji, user_id),
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
) WITHOUT ROWID;
