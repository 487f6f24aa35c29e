-- Bots: accounts for scripts, without a password, that connect with tokens an administrator
-- issued (kept, like sessions, only as their SHA-256 in `sessions`).
ALTER TABLE users ADD COLUMN bot BOOLEAN NOT NULL DEFAULT FALSE;
