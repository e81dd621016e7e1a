// Checks with no module of their own in the official OP plans, for behaviour Gatehouse promises
// (DESIGN.md §4: PKCE S256 required for public clients; refresh token rotation). Their names
// start with `gatehouse-` so nobody mistakes them for official module names.

import { REDIRECT_URI } from '../lib/gatehouse.mjs';
import { Fail, check, client, describe } from '../lib/rp.mjs';

/** A public client without PKCE is refused with invalid_request (OAuth 2.0 Security BCP §2.1.1). */
export async function gatehouse_public_client_pkce_required(t) {
  const flow = await t.startFlow({ c: t.clients.pub, credentials: null });
  const r = await t.expectAuthorizationError(flow);
  check(r.error === 'invalid_request', `a public client without PKCE got ${r.error ?? 'an error page'}, expected invalid_request`);
  // code_challenge_method=plain is refused too (only S256 is advertised).
  const plain = await t.startFlow({
    c: t.clients.pub,
    credentials: null,
    params: { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' },
  });
  const p = await t.expectAuthorizationError(plain);
  check(p.error === 'invalid_request', `code_challenge_method=plain got ${p.error ?? 'a page'}, expected invalid_request`);
}

/** A public client with S256 and token auth `none`: the right verifier works, a wrong one does not. */
export async function gatehouse_public_client_pkce_verifier_checked(t) {
  // Right verifier: the whole flow, as openid-client does it.
  const ok = await t.codeFlow({ c: t.clients.pub, pkce: true });
  check(ok.tokens.access_token, 'no access token');
  // Wrong verifier: the code must be refused (RFC 7636 §4.6).
  const flow = await t.startFlow({ c: t.clients.pub, pkce: true });
  try {
    await client.authorizationCodeGrant(flow.config, new URL(flow.callback), {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: client.randomPKCECodeVerifier(),
    });
  } catch (err) {
    check(err instanceof client.ResponseBodyError, `unexpected failure: ${describe(err)}`);
    check(err.error === 'invalid_grant', `wrong code_verifier gave ${err.error}, expected invalid_grant`);
    return;
  }
  throw new Fail('a wrong code_verifier was accepted');
}

/** Refresh tokens rotate: the new one works, and presenting the old one again is refused. */
export async function gatehouse_refresh_token_rotation(t) {
  const { flow, tokens } = await t.codeFlow();
  check(tokens.refresh_token, 'no refresh token issued');
  const next = await client.refreshTokenGrant(flow.config, tokens.refresh_token);
  check(next.refresh_token && next.refresh_token !== tokens.refresh_token, 'the refresh token did not rotate');
  try {
    await client.refreshTokenGrant(flow.config, tokens.refresh_token);
  } catch (err) {
    check(err instanceof client.ResponseBodyError && err.error === 'invalid_grant', `reusing the old refresh token gave ${describe(err)}`);
    return;
  }
  throw new Fail('the old refresh token still worked after rotation');
}

/** The redirect URI must match byte for byte: a trailing slash is a different URI. */
export async function gatehouse_redirect_uri_exact_match(t) {
  const flow = await t.startFlow({ redirectUri: `${REDIRECT_URI}/`, credentials: null });
  check(!flow.callback, `redirected to ${flow.callback} for a near-miss redirect_uri`);
}
