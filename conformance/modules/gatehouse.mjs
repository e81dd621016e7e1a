// Checks with no module of their own in the official OP plans, for behaviour Gatehouse promises
// (DESIGN.md §4: PKCE S256 required for public clients; refresh token rotation; private_key_jwt
// client authentication). Their names start with `gatehouse-` so nobody mistakes them for
// official module names.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { REDIRECT_URI, cli } from '../lib/gatehouse.mjs';
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

/** Key generation parameters (WebCrypto) for each assertion algorithm Gatehouse accepts. */
const ASSERTION_KEYS = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
};

/**
 * private_key_jwt (OIDC Core §9, RFC 7523) with openid-client's own `PrivateKeyJwt` for each
 * algorithm: a client registered with `--jwks-file` gets client_credentials tokens, and the
 * same assertion sent again (a replay) is `invalid_client`.
 */
export async function gatehouse_private_key_jwt(t) {
  const slug = new URL(t.issuer).pathname.split('/').pop();
  for (const [alg, params] of Object.entries(ASSERTION_KEYS)) {
    const { privateKey, publicKey } = await crypto.subtle.generateKey(params, true, ['sign', 'verify']);
    const kid = `conformance-${alg}`;
    const jwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid };
    const path = join(process.env.GATEHOUSE_WORKDIR, `${kid}.jwks`);
    await writeFile(path, JSON.stringify({ keys: [jwk] }));
    const c = await cli([
      'client', 'create', slug, '--name', `private_key_jwt ${alg}`, '--redirect-uri', REDIRECT_URI,
      '--token-endpoint-auth-method', 'private_key_jwt', '--jwks-file', path,
    ]);
    check(c.token_endpoint_auth_method === 'private_key_jwt', `${alg}: registered as ${c.token_endpoint_auth_method}`);
    let sent;
    const config = await client.discovery(
      new URL(t.issuer), c.client_id, { token_endpoint_auth_method: 'private_key_jwt' },
      client.PrivateKeyJwt({ key: privateKey, kid }), { execute: [client.allowInsecureRequests] },
    );
    config[client.customFetch] = async (url, options) => {
      sent = options.body;
      return fetch(url, options);
    };
    try {
      const tokens = await client.clientCredentialsGrant(config);
      check(tokens.access_token, `${alg}: no access token`);
    } catch (err) {
      throw new Fail(`${alg}: openid-client's private_key_jwt was refused: ${describe(err)}`);
    }
    const replay = await fetch(config.serverMetadata().token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: sent,
    });
    const body = await replay.json();
    check(replay.status === 401 && body.error === 'invalid_client', `${alg}: a replayed assertion got ${replay.status} ${body.error}`);
  }
}
