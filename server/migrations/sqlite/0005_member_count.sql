-- Each room keeps its member count, so reading a room (on every send and typing notice) no
-- longer counts its memberships: in a lobby of 100,000 people that was 100,000 rows per message.
-- Triggers keep it right on every path (joins, leaves, a room's cascade delete).
ALTER TABLE rooms ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;

UPDATE rooms SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.room_id = rooms.id);

CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships
BEGIN
    UPDATE rooms SET member_count = member_count + 1 WHERE id = NEW.room_id;
END;

CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships
BEGIN
    UPDATE rooms SET member_count = member_count - 1 WHERE id = OLD.room_id;
END;
