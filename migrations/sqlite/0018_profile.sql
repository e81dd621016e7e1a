-- The user's profile: the OIDC Core §5.1 standard claims Gatehouse did not hold yet. Every
-- column is optional text, NULL when the user has no value (the claim is then left out, never
-- sent as null). `preferred_username` is the existing `username` column (unique per tenant, a
-- sign-in name), so it gets no column of its own. URLs (`profile`, `picture`, `website`) are
-- http(s); `birthdate` is YYYY or YYYY-MM-DD; `locale` a BCP 47 tag; `zoneinfo` a tz database
-- name; `address` the JSON text of the §5.1.1 structured address (formatted, street_address,
-- locality, region, postal_code, country), only its non-empty members. Checked by
-- `profile::validate` before they are written; `updated_at` moves with every change.
ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
ALTER TABLE users ADD COLUMN middle_name TEXT;
ALTER TABLE users ADD COLUMN nickname TEXT;
ALTER TABLE users ADD COLUMN profile TEXT;
ALTER TABLE users ADD COLUMN picture TEXT;
ALTER TABLE users ADD COLUMN website TEXT;
ALTER TABLE users ADD COLUMN gender TEXT;
ALTER TABLE users ADD COLUMN birthdate TEXT;
ALTER TABLE users ADD COLUMN zoneinfo TEXT;
ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE users ADD COLUMN address TEXT;
