-- OpenID Connect Back-Channel Logout 1.0 §2.2: where the client wants a logout token when an
-- SSO session it got tokens in ends, and whether it needs the `sid` claim (always sent).
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;
