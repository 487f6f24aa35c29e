-- Accounts, sessions and private rooms.

-- An Argon2id PHC string; NULL for a guest (who can only come back through their session) and
-- for people recorded before accounts existed.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;

-- A session is known only by the SHA-256 of the token the browser holds.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- A private room is a group room ('public' kind in the CHECK of 0001, which SQLite cannot alter
-- without rebuilding the table) that only its members see and only invitations join.
ALTER TABLE rooms ADD COLUMN invite_only INTEGER NOT NULL DEFAULT 0;

CREATE INDEX rooms_by_creator ON rooms (created_by);
