-- Self-registration and password reset (issue 13).
-- Tenant settings: whether the sign-in page offers "Create an account", whether the MFA set-up
-- follows the email verification (off | optional: with Skip | required), and whether a user
-- whose only second factor is the emailed code may reset by mail (allow | forbid).
ALTER TABLE tenants ADD COLUMN registration_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN registration_mfa_setup TEXT NOT NULL DEFAULT 'off';
ALTER TABLE tenants ADD COLUMN password_reset_email_only TEXT NOT NULL DEFAULT 'allow';
-- A self-registered account signs in only once its email is verified; an admin may demand a
-- new password at the next sign-in.
ALTER TABLE users ADD COLUMN pending_verification BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT FALSE;
-- A code mailed with a link: the link's token (as SHA-256, like every presented secret) and
-- the sign-in it was sent from (the authorization request, so the link works on another device).
ALTER TABLE otp_challenges ADD COLUMN link_hash TEXT;
ALTER TABLE otp_challenges ADD COLUMN context TEXT;
CREATE UNIQUE INDEX otp_challenges_link ON otp_challenges (link_hash);
