-- Each room keeps its member count, so reading a room (on every send and typing notice) no
-- longer counts its memberships: in a lobby of 100,000 people that was 100,000 rows per message.
-- A trigger keeps it right on every path (joins, leaves, a room's cascade delete).
ALTER TABLE rooms ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;

UPDATE rooms SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.room_id = rooms.id);

CREATE FUNCTION memberships_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE rooms SET member_count = member_count + 1 WHERE id = NEW.room_id;
    ELSE
        UPDATE rooms SET member_count = member_count - 1 WHERE id = OLD.room_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER memberships_count AFTER INSERT OR DELETE ON memberships
FOR EACH ROW EXECUTE FUNCTION memberships_count();
