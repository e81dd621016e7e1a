-- The MFA stage: factors, recovery codes, trusted devices, one-time email codes, and the
-- tenant settings that govern them.

ALTER TABLE tenants ADD COLUMN mfa_recovery_count BIGINT NOT NULL DEFAULT 10;
ALTER TABLE tenants ADD COLUMN mfa_recovery_replace_on_use BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN mfa_enrollment_proof TEXT NOT NULL DEFAULT 'email';
ALTER TABLE tenants ADD COLUMN mfa_max_attempts BIGINT NOT NULL DEFAULT 5;

CREATE TABLE factors (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,                 -- totp | email | sms | webauthn
    label           TEXT NOT NULL,                 -- the user's name for it ("Pixel 8")
    secret_sealed   TEXT,                          -- TOTP seed, JWE (A256GCM) under the server secret
    last_step       BIGINT,                        -- last accepted TOTP step (replay guard)
    target          TEXT,                          -- email address / phone number
    credential      TEXT,                          -- WebAuthn credential (JSON)
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX factors_user ON factors(user_id);

CREATE TABLE recovery_codes (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,                     -- HMAC-SHA256 under the server secret
    created_at  BIGINT NOT NULL,
    used_at     BIGINT,
    UNIQUE (user_id, code_hash)
);

CREATE TABLE trusted_devices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,          -- SHA-256 of the cookie token
    user_agent      TEXT,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);
CREATE INDEX trusted_devices_user ON trusted_devices(user_id);

CREATE TABLE otp_challenges (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL,                 -- enrollment_proof | email_factor | sms_factor
    target          TEXT NOT NULL,
    code_hash       TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX otp_challenges_user ON otp_challenges(user_id, purpose);
