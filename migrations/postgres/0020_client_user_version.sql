-- A client's and a user's version, as the tenants' (0015): bumped by every update of the row,
-- sent as the admin API's ETag, so a write made against a stale copy (If-Match) is refused
-- instead of undoing someone else's change.
ALTER TABLE clients ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
