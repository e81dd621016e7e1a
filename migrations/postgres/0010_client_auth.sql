-- Per-client token-endpoint authentication (OIDC Core §9). `token_endpoint_auth_method`
-- already exists and is now enforced; private_key_jwt clients carry their public keys either
-- inline (`jwks`, a JWK Set as JSON text) or as a URL Gatehouse fetches (`jwks_uri`).
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;

-- Every `jti` of a client assertion (RFC 7523 §3 item 7) seen for a client, kept until the
-- assertion's `exp`: the INSERT is the reservation, so a replay (even at the same instant) finds
-- the row and is refused. Housekeeping deletes rows whose assertion can no longer be valid.
CREATE TABLE client_assertion_jtis (
    tenant_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti)
);
CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis(expires_at);
