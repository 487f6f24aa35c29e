-- Files shared in messages. With several nodes every node must read every file, so the bytes
-- live in the database too: `file_parts`, content-addressed (the key is the SHA-256 of the
-- original, or `preview-` and that for an image's preview), in parts of 1 MiB so a download
-- streams without holding the whole file. A message names its file in `attachment` (JSON).
ALTER TABLE messages ADD COLUMN attachment TEXT;

CREATE TABLE file_parts (
    key   TEXT NOT NULL,
    part  INTEGER NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (key, part)
);

-- What each person's uploads take, for the quota: one row per distinct file per person.
CREATE TABLE uploads (
    user_id TEXT NOT NULL,
    file    TEXT NOT NULL,
    size    BIGINT NOT NULL,
    PRIMARY KEY (user_id, file)
);
