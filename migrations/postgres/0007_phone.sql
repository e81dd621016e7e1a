-- Phone numbers (E.164) and the SMS factor. `phone_verified`: a code sent by text to this
-- number was read back (an SMS factor bound to it), or an admin said so.
ALTER TABLE users ADD COLUMN phone_verified BOOLEAN NOT NULL DEFAULT FALSE;
-- The region a number typed without `+` is read in (ISO 3166 code, as the numbering plans
-- name it), and the country calling codes texts may go to, as a JSON list of numbers; empty:
-- the default region's code only.
ALTER TABLE tenants ADD COLUMN sms_default_region TEXT NOT NULL DEFAULT 'US';
ALTER TABLE tenants ADD COLUMN sms_allowed_countries TEXT NOT NULL DEFAULT '[]';
