-- Devices that signed in to an account (OWASP's device cookies): a sign-in from one of them is
-- counted on that device's own allowance, so other clients' failures cannot lock its person
-- out. Known only by the SHA-256 of the token in the browser's `parley_device` cookie; one
-- browser may have signed in to several names.
CREATE TABLE devices (
    token_hash TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used  BIGINT NOT NULL,
    PRIMARY KEY (token_hash, user_id)
);
