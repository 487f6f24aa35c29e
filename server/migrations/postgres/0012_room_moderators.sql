-- Room moderators: members a room's moderators chose to help them (a room's creator is always
-- one, whatever this flag says). They remove messages and members in that room only.
ALTER TABLE memberships ADD COLUMN moderator BOOLEAN NOT NULL DEFAULT FALSE;
