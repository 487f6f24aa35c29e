-- Files shared in messages. The bytes live outside the database, content-addressed under the
-- data dir (see `server/src/files`); a message names its file in `attachment` (JSON: name, size,
-- sniffed type, image size, and the content hash the bytes are stored under).
ALTER TABLE messages ADD COLUMN attachment TEXT;

-- What each person's uploads take, for the quota: one row per distinct file per person, so the
-- same file shared twice counts once.
CREATE TABLE uploads (
    user_id TEXT NOT NULL,
    file    TEXT NOT NULL,
    size    INTEGER NOT NULL,
    PRIMARY KEY (user_id, file)
) WITHOUT ROWID;
