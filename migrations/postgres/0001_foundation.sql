-- Tenants, clients, users and the audit log. Timestamps are Unix seconds (BIGINT) so the same
-- SQL compares them on SQLite and PostgreSQL. JSON lists are TEXT holding a JSON array.

CREATE TABLE tenants (
    id                      TEXT PRIMARY KEY,
    slug                    TEXT NOT NULL UNIQUE,
    name                    TEXT NOT NULL,
    theme                   TEXT NOT NULL DEFAULT 'default',
    mfa_policy              TEXT NOT NULL DEFAULT 'optional',
    mfa_prompt_enrollment   BOOLEAN NOT NULL DEFAULT FALSE,
    mfa_methods             TEXT NOT NULL DEFAULT '["totp"]',
    trusted_device_days     BIGINT NOT NULL DEFAULT 30,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);

CREATE TABLE clients (
    id                          TEXT PRIMARY KEY,
    tenant_id                   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                        TEXT NOT NULL,
    secret_hash                 TEXT,
    is_public                   BOOLEAN NOT NULL DEFAULT FALSE,
    first_party                 BOOLEAN NOT NULL DEFAULT FALSE,
    token_endpoint_auth_method  TEXT NOT NULL,
    redirect_uris               TEXT NOT NULL,
    post_logout_redirect_uris   TEXT NOT NULL DEFAULT '[]',
    grant_types                 TEXT NOT NULL,
    mfa_policy                  TEXT NOT NULL DEFAULT 'inherit',
    trust_policy                TEXT NOT NULL DEFAULT 'any',
    id_token_alg                TEXT NOT NULL DEFAULT 'RS256',
    access_token_ttl_secs       BIGINT NOT NULL,
    id_token_ttl_secs           BIGINT NOT NULL,
    refresh_token_ttl_secs      BIGINT NOT NULL,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL
);
CREATE INDEX clients_tenant ON clients(tenant_id);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    username        TEXT,
    name            TEXT,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    phone           TEXT,
    password_hash   TEXT,
    locked          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, email),
    UNIQUE (tenant_id, username)
);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     TEXT,
    actor       TEXT NOT NULL,
    event       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    ip          TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX audit_events_tenant_time ON audit_events(tenant_id, created_at);
