-- The exact web origins (JSON list of `scheme://host[:port]`) whose pages may read this
-- client's answers at /token, /userinfo, /revoke and /introspect (CORS; see src/oidc/cors.rs).
ALTER TABLE clients ADD COLUMN web_origins TEXT NOT NULL DEFAULT '[]';
