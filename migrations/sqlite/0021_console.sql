-- The hosted admin console (`/admin`). Its admins are users of the system tenant; a row here
-- makes one an admin of every tenant (tenant_id NULL) or of one tenant.
CREATE TABLE console_admins (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    tenant_id  TEXT REFERENCES tenants(id) ON DELETE CASCADE,  -- NULL: platform admin
    created_at BIGINT NOT NULL
);

-- Console sessions: short (idle timeout) and tied to the SSO session that made them, so
-- signing out of Gatehouse or an ended session ends the console too. The cookie holds a
-- random value, this table its SHA-256. `mfa_at` is when the admin last proved a second
-- factor: destructive actions want it recent (step-up).
CREATE TABLE console_sessions (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sso_session_id TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    mfa_at         BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
