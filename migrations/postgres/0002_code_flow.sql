-- The authorization-code flow: SSO sessions, login transactions, codes, tokens, consents and
-- failure counters. Every secret a browser or client presents is stored only as a SHA-256 hash
-- (the *_hash / id columns below); timestamps are Unix seconds.

CREATE TABLE sso_sessions (
    id              TEXT PRIMARY KEY,              -- public id, also the `sid` claim
    token_hash      TEXT NOT NULL UNIQUE,          -- SHA-256 of the cookie value
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time       BIGINT NOT NULL,               -- last password (first factor) verification
    amr             TEXT NOT NULL,                 -- JSON list of RFC 8176 methods verified
    acr             TEXT NOT NULL,
    mfa_time        BIGINT,                        -- last second-factor verification
    user_agent      TEXT,
    ip              TEXT,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    ended_at        BIGINT
);
CREATE INDEX sso_sessions_user ON sso_sessions(user_id);

CREATE TABLE login_transactions (
    id              TEXT PRIMARY KEY,              -- SHA-256 of the handle in the login URL
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    browser_hash    TEXT NOT NULL,                 -- SHA-256 of the browser-binding cookie
    request         TEXT NOT NULL,                 -- JSON: the validated authorization request
    stage           TEXT NOT NULL,
    user_id         TEXT,
    auth_time       BIGINT,
    amr             TEXT NOT NULL DEFAULT '[]',
    attempts        BIGINT NOT NULL DEFAULT 0,
    state           TEXT NOT NULL DEFAULT '{}',    -- JSON scratch space for later stages (MFA)
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

CREATE TABLE authorization_codes (
    id                      TEXT PRIMARY KEY,      -- SHA-256 of the code
    grant_id                TEXT NOT NULL,         -- ties the code to the tokens minted from it
    tenant_id               TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id               TEXT NOT NULL,
    user_id                 TEXT NOT NULL,
    session_id              TEXT,
    redirect_uri            TEXT NOT NULL,
    scope                   TEXT NOT NULL,
    nonce                   TEXT,
    code_challenge          TEXT,
    code_challenge_method   TEXT,
    auth_time               BIGINT NOT NULL,
    amr                     TEXT NOT NULL,
    acr                     TEXT NOT NULL,
    claims                  TEXT,                  -- JSON of the `claims` request parameter
    created_at              BIGINT NOT NULL,
    expires_at              BIGINT NOT NULL,
    used_at                 BIGINT
);

CREATE TABLE refresh_tokens (
    id              TEXT PRIMARY KEY,              -- SHA-256 of the token
    grant_id        TEXT NOT NULL,                 -- the family: reuse revokes every token of it
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    session_id      TEXT,
    scope           TEXT NOT NULL,
    auth_time       BIGINT NOT NULL,
    amr             TEXT NOT NULL,
    acr             TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    rotated_at      BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);

CREATE TABLE access_tokens (
    jti             TEXT PRIMARY KEY,
    grant_id        TEXT,                          -- NULL for client_credentials
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    user_id         TEXT,
    scope           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);
CREATE INDEX access_tokens_grant ON access_tokens(grant_id);

CREATE TABLE consents (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    scope           TEXT NOT NULL,                 -- space-separated, sorted
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE rate_limits (
    key             TEXT PRIMARY KEY,              -- e.g. pwd:acct:{tenant}:{email-hash}, pwd:ip:{ip}
    failures        BIGINT NOT NULL,
    window_start    BIGINT NOT NULL,
    locked_until    BIGINT
);
