// The relying party's side: authorization URLs (with state, nonce and PKCE S256), the
// authorization response read from the intercepted redirect, and the code exchange, so each
// scenario can check what Gatehouse says about the sign-in (`amr`, `acr`).

import { createHash, randomBytes } from 'node:crypto';
import { REDIRECT_URI } from './gatehouse.mjs';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/**
 * A fresh authorization request for `fixture` (from `createTenant`). `extra` adds parameters
 * such as `prompt: 'login'` or `response_mode: 'form_post'`.
 */
export function authorizationRequest(fixture, extra = {}) {
  const state = b64url(randomBytes(12));
  const nonce = b64url(randomBytes(12));
  const verifier = b64url(randomBytes(32));
  const url = new URL(`${fixture.issuer}/authorize`);
  const params = {
    response_type: 'code',
    client_id: fixture.client.id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid email',
    state,
    nonce,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { url: url.href, state, nonce, verifier, fixture };
}

/**
 * Checks an authorization response (`params`: the callback's query or form fields) against
 * its request: a code, the same state, the right `iss` (RFC 9207). Throws otherwise.
 */
export function checkResponse(req, params) {
  if (params.error) throw new Error(`authorization error: ${params.error} ${params.error_description || ''}`);
  if (!params.code) throw new Error(`no code in the authorization response: ${JSON.stringify(params)}`);
  if (params.state !== req.state) throw new Error(`state mismatch: ${params.state} != ${req.state}`);
  if (params.iss !== req.fixture.issuer) throw new Error(`iss ${params.iss} != ${req.fixture.issuer}`);
  return params.code;
}

/** Redeems `code` at the token endpoint (client_secret_basic) and returns the ID token claims. */
export async function redeem(req, code) {
  const { fixture } = req;
  const auth = Buffer.from(
    `${encodeURIComponent(fixture.client.id)}:${encodeURIComponent(fixture.client.secret)}`,
  ).toString('base64');
  const res = await fetch(`${fixture.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: req.verifier,
    }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`token endpoint ${res.status}: ${JSON.stringify(body)}`);
  // The signature is the conformance suite's business; here only the claims matter.
  const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString('utf8'));
  if (claims.nonce !== req.nonce) throw new Error(`nonce mismatch in the ID token`);
  if (claims.iss !== fixture.issuer) throw new Error(`ID token iss ${claims.iss} != ${fixture.issuer}`);
  return claims;
}
