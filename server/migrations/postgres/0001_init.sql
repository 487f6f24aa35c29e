-- Parley's schema on PostgreSQL: the same tables as the SQLite migrations 0001-0003 reach, in
-- one step (Postgres deployments start from here). Ids are text (room names, lowercased display
-- names, UUIDs); times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    -- An Argon2id PHC string; NULL for a guest.
    password_hash TEXT,
    created_at    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE rooms (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    created_by  TEXT REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    -- The last sequence number and revision handed out in this room. Bumping them takes the
    -- room's row lock, which orders concurrent appends from every node.
    last_seq    BIGINT NOT NULL DEFAULT 0,
    last_rev    BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX rooms_by_creator ON rooms (created_by);

CREATE TABLE memberships (
    room_id   TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id),
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE messages (
    room_id     TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    id          UUID NOT NULL UNIQUE,
    author_id   TEXT NOT NULL REFERENCES users (id),
    author_name TEXT NOT NULL,
    body        TEXT NOT NULL,
    sent_at     BIGINT NOT NULL,
    rev         BIGINT NOT NULL,
    edited_at   BIGINT,
    deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (room_id, seq)
);

CREATE UNIQUE INDEX messages_by_rev ON messages (room_id, rev);

-- A session is known only by the SHA-256 of the token the browser holds.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_by_expiry ON sessions (expires_at);

INSERT INTO rooms (id, kind, created_by, created_at) VALUES ('lobby', 'public', NULL, 0);
