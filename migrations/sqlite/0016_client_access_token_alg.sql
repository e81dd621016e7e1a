-- The algorithm the client's access tokens (RFC 9068 JWTs) are signed with: RS256 unless the
-- client's resource servers take a faster one (ES256, EdDSA).
ALTER TABLE clients ADD COLUMN access_token_alg TEXT NOT NULL DEFAULT 'RS256';
