-- Sessions and tokens that end when they should. A *grant* is one authorization (the
-- `grant_id` of a code and of every token minted from it): revoking it kills all of them, and
-- every use of a token checks it, so a revocation that races a redemption leaves nothing live.
-- A grant is bound to the SSO session it came from (it ends with the session, and never
-- outlives the session's expiry) unless `offline_access` was granted.

CREATE TABLE grants (
    id              TEXT PRIMARY KEY,              -- the grant_id of its code and tokens
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    session_id      TEXT,                          -- the SSO session it was minted from
    offline         BOOLEAN NOT NULL DEFAULT FALSE,-- offline_access granted: survives the session
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,               -- session-bound: the session's expiry
    revoked_at      BIGINT
);
CREATE INDEX grants_session ON grants(session_id);
CREATE INDEX grants_user ON grants(user_id);

-- Grants issued before this migration: session-bound (the safe reading), alive as long as
-- their tokens.
INSERT INTO grants (id, tenant_id, client_id, user_id, session_id, offline, created_at,
                    expires_at, revoked_at)
SELECT grant_id, MIN(tenant_id), MIN(client_id), MIN(user_id), MIN(session_id), FALSE,
       MIN(created_at), MAX(expires_at), NULL
FROM refresh_tokens GROUP BY grant_id;
INSERT INTO grants (id, tenant_id, client_id, user_id, session_id, offline, created_at,
                    expires_at, revoked_at)
SELECT grant_id, MIN(tenant_id), MIN(client_id), MIN(user_id), NULL, FALSE,
       MIN(created_at), MAX(expires_at), NULL
FROM access_tokens
WHERE grant_id IS NOT NULL AND user_id IS NOT NULL
  AND grant_id NOT IN (SELECT id FROM grants)
GROUP BY grant_id;

-- Whether the client may receive offline access (`client create --offline-access`).
ALTER TABLE clients ADD COLUMN offline_access BOOLEAN NOT NULL DEFAULT FALSE;

-- The factor set a trusted device was created under (SHA-256 of the user's factor ids): adding,
-- removing or resetting a factor changes it, so the device no longer vouches. Devices trusted
-- before this migration have none and must be trusted again.
ALTER TABLE trusted_devices ADD COLUMN factor_set TEXT;
