-- WebAuthn (security keys and passkeys): the tenant's passwordless switch, each user's random
-- WebAuthn user handle (never the email: authenticators may show or sync it), and the state of
-- a ceremony between its two requests (options sent → credential back), consumed once.

ALTER TABLE tenants ADD COLUMN passkeys_passwordless BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE webauthn_handles (
    user_id     TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    handle      TEXT NOT NULL UNIQUE                -- a UUID, hyphenated
);

CREATE TABLE webauthn_ceremonies (
    id          TEXT PRIMARY KEY,                   -- random, named by the page that runs it
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     TEXT REFERENCES users(id) ON DELETE CASCADE, -- NULL: a passwordless sign-in
    purpose     TEXT NOT NULL,                      -- register | assert | discover
    state       TEXT NOT NULL,                      -- webauthn-rs-core's state (JSON)
    expires_at  BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies(expires_at);

-- A credential is found by its id when a passkey signs someone in (factors.target holds it).
CREATE INDEX factors_target ON factors(kind, target);
