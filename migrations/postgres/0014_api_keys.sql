-- Admin API keys (`gatehouse api-key create`): shown once, kept as SHA-256 (a 256-bit random
-- value needs no slow hash), scoped to one tenant or to all, with a role; revocable.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    key_hash     TEXT NOT NULL UNIQUE,
    tenant_id    TEXT REFERENCES tenants(id) ON DELETE CASCADE,  -- NULL: every tenant
    role         TEXT NOT NULL,                                   -- admin | tenant-admin | read-only
    name         TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
