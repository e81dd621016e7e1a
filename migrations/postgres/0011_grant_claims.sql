-- The OIDC `claims` request parameter of the authorization behind a grant (OIDC Core §5.5, as
-- JSON text; NULL when none was sent). Kept with the grant so every access token minted from
-- it, refreshed ones included, is answered at UserInfo with the claims its `userinfo` member
-- named.
ALTER TABLE grants ADD COLUMN claims TEXT;
