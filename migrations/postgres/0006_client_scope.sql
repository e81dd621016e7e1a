-- The scopes a client may request with the client_credentials grant (RFC 7591 §2 `scope`:
-- space-separated). Empty: none, so client_credentials issues only scope-less tokens.
ALTER TABLE clients ADD COLUMN scope TEXT NOT NULL DEFAULT '';
