-- Signing keys live in the database, so every node serves the same JWKS and a rotation on one
-- node reaches the others without sharing a folder. The private JWK is sealed (compact JWE,
-- dir + A256GCM) under the server secret (`secrets.key`); the rest is public metadata.
-- Lifecycle: next (published, not yet signing) -> active (signs) -> retired (published until
-- retire_at, the longest token lifetime after its rotation, then deleted).
CREATE TABLE signing_keys (
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kid                TEXT NOT NULL,
    alg                TEXT NOT NULL,
    state              TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    retire_at          BIGINT,
    private_jwk_sealed TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);
