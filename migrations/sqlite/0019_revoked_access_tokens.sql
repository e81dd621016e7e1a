-- Access tokens are self-contained JWTs (RFC 9068) that name their grant (`grant_id`); no row
-- is written per token any more. What is kept instead: the tokens revoked one by one (RFC 7009)
-- until they would expire; a revoked grant kills its tokens through its `grants` row.
CREATE TABLE revoked_access_tokens (
    jti             TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX revoked_access_tokens_expiry ON revoked_access_tokens(expires_at);

INSERT INTO revoked_access_tokens (jti, tenant_id, expires_at)
SELECT jti, tenant_id, expires_at FROM access_tokens WHERE revoked_at IS NOT NULL;

-- `access_tokens` stays, read-only, for the tokens minted before this migration (they do not
-- name their grant): the sweep empties it within a day of their expiry, and a later migration
-- drops it.
