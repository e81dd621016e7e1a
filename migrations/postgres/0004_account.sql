-- Self-service "Manage two-factor": how recent a sign-in must be before a change.
ALTER TABLE tenants ADD COLUMN account_reauth_secs BIGINT NOT NULL DEFAULT 300;
