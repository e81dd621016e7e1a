// The relying party: openid-client (OpenID Foundation certified RP library) does everything an
// RP does — discovery, authorization URLs (state, nonce, PKCE), callback validation (RFC 9207
// `iss`, state, ID token), the code exchange, userinfo, refresh, end-session URLs. This file adds
// the harness around it (test outcomes, the assertions of the official modules that a normal RP
// does not make) and nothing that replaces the library's own checks.

import { createHash, createPublicKey } from 'node:crypto';
import * as client from 'openid-client';
import { authorize } from './browser.mjs';
import { REDIRECT_URI } from './gatehouse.mjs';

/** The module cannot run against this OP (the official suite would skip it too). */
export class Skip extends Error {}
/** An assertion of the module does not hold. */
export class Fail extends Error {}

export function check(cond, message) {
  if (!cond) throw new Fail(message);
}

/** Base64url JSON segment of a compact JWS. */
export function decodeJwt(jwt) {
  const [h, p] = jwt.split('.');
  const dec = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: dec(h), payload: dec(p) };
}

/** A readable one-liner for anything openid-client / oauth4webapi throws. */
export function describe(err) {
  if (err instanceof Fail || err instanceof Skip) return err.message;
  const parts = [err?.message ?? String(err)];
  if (err?.error) parts.push(`error=${err.error}${err.error_description ? ` (${err.error_description})` : ''}`);
  if (typeof err?.status === 'number') parts.push(`HTTP ${err.status}`);
  const cause = err?.cause;
  if (cause instanceof Response) parts.push(`HTTP ${cause.status} from ${cause.url || 'the server'}`);
  else if (cause?.message && cause !== err) parts.push(cause.message);
  if (err?.code && !String(parts[0]).includes(err.code)) parts.push(err.code);
  return parts.join('; ');
}

/**
 * The per-module test context: the OP, the registered clients and user, a fresh browser on
 * request, and a list of warnings (conditions the official suite grades WARNING: they are
 * reported but do not fail the module).
 */
export class TestContext {
  constructor(shared) {
    Object.assign(this, shared);
    this.warnings = [];
    /** Token endpoint responses seen by openid-client, newest last (for header checks). */
    this.tokenResponses = [];
  }

  warn(message) {
    this.warnings.push(message);
  }

  /** Debug trace on stderr with CONFORMANCE_DEBUG=1 (stdout stays one line per module). */
  log(...args) {
    if (process.env.CONFORMANCE_DEBUG) console.error(`  [${this.module}]`, ...args);
  }

  /**
   * An openid-client Configuration for `c` (a client from the fixtures), from discovery, with
   * ID token signatures checked against the JWKS even for token-endpoint ID tokens
   * (`enableNonRepudiationChecks`; by default the library trusts TLS there).
   */
  async rp(c, { auth = c.client_secret ? 'client_secret_basic' : 'none' } = {}) {
    const methods = {
      client_secret_basic: () => client.ClientSecretBasic(c.client_secret),
      client_secret_post: () => client.ClientSecretPost(c.client_secret),
      none: () => client.None(),
    };
    const metadata = {
      id_token_signed_response_alg: c.id_token_alg || 'RS256',
      token_endpoint_auth_method: auth,
    };
    if (c.client_secret) metadata.client_secret = c.client_secret;
    const config = await client.discovery(new URL(this.issuer), c.client_id, metadata, methods[auth](), {
      execute: [client.allowInsecureRequests],
    });
    client.enableNonRepudiationChecks(config);
    // Keep a copy of every token endpoint response so modules can check status and headers.
    const tokenEndpoint = config.serverMetadata().token_endpoint;
    config[client.customFetch] = async (url, options) => {
      const res = await fetch(url, options);
      if (url === tokenEndpoint || String(url) === tokenEndpoint) this.tokenResponses.push(res.clone());
      return res;
    };
    return config;
  }

  /**
   * Starts a code flow: builds the authorization request with openid-client and walks the hosted
   * pages with `browser` (a fresh one unless given). Returns everything the second half needs.
   *
   * `params` are extra authorization parameters; `nonce: false` leaves nonce out; `pkce: true`
   * adds S256 PKCE; `credentials: null` means "do not sign in if asked".
   */
  async startFlow({
    c = this.clients.client,
    auth,
    config,
    browser = this.newBrowser(),
    scope = 'openid',
    params = {},
    nonce = true,
    pkce = false,
    credentials = this.user,
    consent = 'allow',
    method = 'GET',
    loginDelayMs = 0,
    redirectUri = REDIRECT_URI,
    stateLength,
    mutate,
  } = {}) {
    config ??= await this.rp(c, { auth });
    const state = stateLength ? randomString(stateLength) : client.randomState();
    const p = { scope, state, ...params };
    if (redirectUri) p.redirect_uri = redirectUri;
    const n = nonce ? client.randomNonce() : undefined;
    if (n) p.nonce = n;
    let verifier;
    if (pkce) {
      verifier = client.randomPKCECodeVerifier();
      p.code_challenge = await client.calculatePKCECodeChallenge(verifier);
      p.code_challenge_method = 'S256';
    }
    const url = client.buildAuthorizationUrl(config, p);
    if (mutate) mutate(url);
    const walk = await authorize(browser, url.href, { credentials, consent, method, loginDelayMs });
    this.log(`${method} ${url.pathname}?${[...url.searchParams.keys()].join('&')}`,
      `→ pages [${walk.pages.map((p) => `${p.kind} ${p.status}`).join(', ')}]`,
      `→ ${typeof walk.callback === 'string' ? walk.callback.replace(/code=[^&]+/, 'code=…') : walk.callback ? 'form_post' : 'no redirect'}`);
    return { c, config, browser, state, nonce: n, verifier, url, ...walk };
  }

  /**
   * The second half of a successful code flow: openid-client validates the authorization
   * response (iss, state), exchanges the code and validates the ID token (signature, iss, aud,
   * exp, iat, nonce, alg, auth_time against max_age); then the official modules' extra ID token
   * conditions run.
   */
  async finishFlow(flow, { maxAge } = {}) {
    requireCallback(flow);
    const tokens = await client.authorizationCodeGrant(flow.config, callbackInput(flow.callback), {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.verifier,
      maxAge,
      idTokenExpected: true,
    });
    await this.validateIdToken(flow.config, tokens.id_token, tokens.access_token);
    const { sub, auth_time, acr, amr, nonce, sid } = tokens.claims();
    this.log('id_token', JSON.stringify({ sub, auth_time, acr, amr, nonce: nonce && 'yes', sid: sid && 'yes' }));
    return tokens;
  }

  /** startFlow + finishFlow, returning `{ flow, tokens, claims }`. */
  async codeFlow(opts = {}, finish = {}) {
    const flow = await this.startFlow(opts);
    const tokens = await this.finishFlow(flow, finish);
    return { flow, tokens, claims: tokens.claims() };
  }

  /**
   * The ID token conditions of AbstractOIDCCServerTest that a plain RP does not make:
   * `kid` present and naming a published key of the same `alg` (CheckForKeyIdInServerJWKs,
   * ValidateIdTokenSignatureUsingKid), `sub` present (CheckForSubjectInIdToken), `at_hash`
   * correct when present, and `acr` a string when present.
   */
  async validateIdToken(config, idToken, accessToken) {
    check(typeof idToken === 'string', 'no id_token in the token response');
    const { header, payload } = decodeJwt(idToken);
    check(header.kid, 'the ID token header has no kid (OIDCC-10.1)');
    const jwks = await this.jwks();
    const key = jwks.keys.find((k) => k.kid === header.kid);
    check(key, `the ID token kid ${header.kid} is not in the JWKS`);
    check(!key.alg || key.alg === header.alg, `the JWKS key ${header.kid} is for ${key.alg}, the ID token uses ${header.alg}`);
    check(typeof payload.sub === 'string' && payload.sub.length > 0, 'the ID token has no sub');
    for (const c of ['iss', 'aud', 'exp', 'iat']) check(payload[c] !== undefined, `the ID token has no ${c}`);
    if (payload.at_hash !== undefined && accessToken) {
      const expected = atHash(header.alg, accessToken);
      check(payload.at_hash === expected, `at_hash ${payload.at_hash} does not match the access token (expected ${expected})`);
    }
    if (payload.acr !== undefined) check(typeof payload.acr === 'string', 'acr is not a string');
    if (payload.auth_time !== undefined) check(Number.isInteger(payload.auth_time), 'auth_time is not a number of seconds');
    return { header, payload };
  }

  async jwks() {
    const res = await fetch(this.discovery.jwks_uri);
    return res.json();
  }

  /**
   * For modules that expect the OP to refuse: the authorization response must be an error
   * redirect (validated by openid-client: iss, state) or the OP must stay on an error page.
   * Returns `{ page }` or `{ error, error_description, state }`.
   */
  async expectAuthorizationError(flow, { expectedState = flow.state } = {}) {
    if (!flow.callback) {
      const last = flow.pages[flow.pages.length - 1];
      return { page: last };
    }
    try {
      await client.authorizationCodeGrant(flow.config, callbackInput(flow.callback), {
        expectedState,
        expectedNonce: flow.nonce,
        pkceCodeVerifier: flow.verifier,
      });
    } catch (err) {
      if (err instanceof client.AuthorizationResponseError) {
        const params = err.cause instanceof URLSearchParams ? err.cause : new URLSearchParams();
        const description = params.get('error_description');
        if (description !== null) checkErrorText(description, 'error_description');
        return { error: err.error, error_description: description, state: params.get('state') };
      }
      throw new Fail(`the error response did not validate: ${describe(err)}`);
    }
    throw new Fail('the OP returned an authorization code where an error was expected');
  }
}

/** openid-client takes a URL for query responses and a Request for form_post ones. */
export function callbackInput(callback) {
  return typeof callback === 'string' ? new URL(callback) : callback.clone();
}

export function requireCallback(flow) {
  if (flow.callback) return;
  const last = flow.pages[flow.pages.length - 1];
  const seen = flow.pages.map((p) => p.kind).join(' → ') || 'nothing';
  const text = last ? pageText(last.body).slice(0, 160) : '';
  const where = last ? new URL(last.url).pathname : '?';
  throw new Fail(`the OP did not redirect back (pages: ${seen}; last: HTTP ${last?.status} at ${where}${text ? `: "${text}"` : ''})`);
}

/** Visible text of an HTML page, for messages. */
export function pageText(html) {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<title>[\s\S]*?<\/title>/i, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** OIDC Core §3.1.3.6: left half of the hash of the access token, by the JWS alg's hash. */
export function atHash(alg, token) {
  const hash = { RS256: 'sha256', ES256: 'sha256', PS256: 'sha256', EdDSA: 'sha512', RS384: 'sha384', ES384: 'sha384', RS512: 'sha512', ES512: 'sha512' }[alg];
  if (!hash) throw new Fail(`cannot compute at_hash for alg ${alg}`);
  const d = createHash(hash).update(token, 'ascii').digest();
  return d.subarray(0, d.length / 2).toString('base64url');
}

/** RFC 6749 §5.2 / §4.1.2.1: error and error_description use %x20-21 / %x23-5B / %x5D-7E. */
export function checkErrorText(value, name) {
  check(!/[\r\n\t]/.test(value), `${name} contains CR, LF or TAB`);
  check(/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/.test(value), `${name} contains characters RFC 6749 §5.2 does not allow: ${JSON.stringify(value)}`);
}

export function randomString(n) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  while (s.length < n) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

/** Validates a public JWK as ValidateServerJWKs does: parses as a key of its kty. */
export function parsePublicJwk(jwk) {
  return createPublicKey({ key: jwk, format: 'jwk' });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export { client };
