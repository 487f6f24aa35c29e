-- Parley's schema on SQLite. Ids are text (room names, lowercased display names, UUIDs);
-- times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id   TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);

CREATE TABLE rooms (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('public', 'direct')),
    created_by TEXT REFERENCES users (id),
    created_at INTEGER NOT NULL,
    -- The last sequence number handed out in this room; bumped in the insert's transaction.
    last_seq   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE memberships (
    room_id   TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id),
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;

CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE messages (
    room_id     TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    author_id   TEXT NOT NULL REFERENCES users (id),
    author_name TEXT NOT NULL,
    body        TEXT NOT NULL,
    sent_at     INTEGER NOT NULL,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;

INSERT INTO rooms (id, kind, created_by, created_at) VALUES ('lobby', 'public', NULL, 0);
