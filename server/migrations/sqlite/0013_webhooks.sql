-- Incoming webhooks: a per-room URL that posts as a bot, with a secret kept only as its SHA-256.
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY NOT NULL,
    room_id     TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    bot_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
