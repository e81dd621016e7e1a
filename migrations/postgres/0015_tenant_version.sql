-- A tenant's version: bumped by every update, sent as the admin API's ETag, so a write made
-- against a stale copy (If-Match) is refused instead of undoing someone else's change.
ALTER TABLE tenants ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
