// Gatehouse as integrators meet it with two more certified relying-party libraries beside
// openid-client: npm oauth4webapi (strict: it refuses an ID token whose auth_time is older than
// max_age allows) and Python Authlib (run as a child process, through ./authlib_rp.py). The
// hosted pages are walked by the same JavaScript-free browser as the other modules; the
// libraries do everything an RP does (discovery, PKCE, state, nonce, token exchange, ID token
// validation, UserInfo, refresh).

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import * as oauth from 'oauth4webapi';

import { Browser, authorize, parseForms } from '../lib/browser.mjs';
import { REDIRECT_URI, cli } from '../lib/gatehouse.mjs';
import { Fail, check, sleep } from '../lib/rp.mjs';

const insecure = { [oauth.allowInsecureRequests]: true };

/** RFC 8414 metadata through oauth4webapi's `algorithm: 'oauth2'` (the RFC 8414 §3 path form). */
export async function gatehouse_oauth4webapi_rfc8414_metadata(t) {
  const issuer = new URL(t.issuer);
  const res = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  const as = await oauth.processDiscoveryResponse(issuer, res);
  check(as.issuer === t.issuer, `RFC 8414 issuer ${as.issuer}, expected ${t.issuer}`);
  check(as.token_endpoint === `${t.issuer}/token`, `token_endpoint ${as.token_endpoint}`);
}

async function oidcServer(t) {
  const issuer = new URL(t.issuer);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
}

/** The authorization request oauth4webapi would send, and what it needs to check the answer. */
async function request(as, clientId, params = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint);
  const p = {
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  };
  for (const [k, v] of Object.entries(p)) url.searchParams.set(k, v);
  return { url: url.href, verifier, state, nonce };
}

/** Redeems the callback the way oauth4webapi does, with its strict ID token checks. */
async function redeem(as, c, req, callback, { maxAge } = {}) {
  const client = { client_id: c.client_id };
  const auth = oauth.ClientSecretBasic(c.client_secret);
  const params = oauth.validateAuthResponse(as, client, new URL(callback), req.state);
  const res = await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT_URI, req.verifier, insecure);
  const result = await oauth.processAuthorizationCodeResponse(as, client, res, {
    expectedNonce: req.nonce,
    requireIdToken: true,
    ...(maxAge === undefined ? {} : { maxAge }),
  });
  return { client, auth, result, claims: oauth.getValidatedIdTokenClaims(result) };
}

/** The code flow, UserInfo and a refresh, all through oauth4webapi. */
export async function gatehouse_oauth4webapi_code_flow(t) {
  const as = await oidcServer(t);
  const c = t.clients.client;
  const req = await request(as, c.client_id);
  const { callback } = await authorize(t.newBrowser(), req.url, { credentials: t.user });
  check(callback, 'the authorization did not come back to the client');
  const { client, auth, result, claims } = await redeem(as, c, req, callback);
  check(claims.sub === t.user.id, `sub ${claims.sub}`);
  const info = await oauth.processUserInfoResponse(
    as,
    client,
    claims.sub,
    await oauth.userInfoRequest(as, client, result.access_token, insecure),
  );
  check(info.email === t.user.login, `userinfo email ${info.email}`);
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, auth, result.refresh_token, insecure),
  );
  check(refreshed.access_token && refreshed.refresh_token !== result.refresh_token, 'refresh did not rotate');
}

// --- a tenant that requires MFA, with the authenticator app enrolled through the pages -----

function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of s.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

const step = () => Math.floor(Date.now() / 30_000);

/** RFC 6238, SHA-1, 6 digits, 30 s, for time step `at`. */
function totp(key, at) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(at));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function submitFirst(browser, page, values) {
  const form = parseForms(page.body).find((f) => Object.keys(values).every((k) => k in f.fields));
  check(form, `no form with ${Object.keys(values)} on ${page.url}`);
  const button = form.buttons.find((b) => b.name === 'action' && b.value !== 'skip') ?? form.buttons[0];
  return browser.submit(page.url, form, values, button);
}

/**
 * `max_age=3` with five seconds on the MFA page: the ID token's auth_time is when the second
 * factor passed, so oauth4webapi's strict max_age check accepts it (with auth_time at the
 * password, it refused the token: OAUTH_JWT_TIMESTAMP_CHECK_FAILED).
 */
export async function gatehouse_oauth4webapi_max_age_after_slow_mfa(t) {
  const slug = 'interop-mfa';
  await cli(['tenant', 'create', slug, '--name', 'Interop MFA', '--mfa', 'required']);
  await cli(['tenant', 'update', slug, '--enrollment-proof', 'none']);
  const c = await cli(['client', 'create', slug, '--first-party', '--redirect-uri', REDIRECT_URI]);
  await cli(['user', 'create', slug, t.user.login, '--password-stdin'], { input: `${t.user.password}\n` });
  const issuer = t.issuer.replace(/\/t\/[^/]+$/, `/t/${slug}`);
  const url = new URL(issuer);
  const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, insecure));

  // Enrolment at the required sign-in: the key from the page, a code, the recovery codes.
  const browser = new Browser(new URL(issuer).origin);
  const first = await request(as, c.client_id);
  const enrol = (await authorize(browser, first.url, { credentials: t.user })).last;
  const key = /id="totp-key">([^<]+)</.exec(enrol.body)?.[1];
  check(key, 'no authenticator key on the set-up page');
  const secret = base32(key);
  const enrolled = step();
  const codes = await submitFirst(browser, enrol, { code: totp(secret, enrolled), label: 'Phone' });
  const done = parseForms(codes.body).pop();
  const back = await browser.submit(codes.url, done, {}, done.buttons[0]);
  check(back.leftTo, 'no redirect after the recovery codes');
  await redeem(as, c, first, back.leftTo);

  // A fresh sign-in with max_age=3, and a slow second factor.
  const slow = new Browser(new URL(issuer).origin);
  const req = await request(as, c.client_id, { max_age: '3' });
  const mfa = (await authorize(slow, req.url, { credentials: t.user })).last;
  check(/authenticator app/i.test(mfa.body), 'expected the MFA page');
  await sleep(5_000);
  // The step after the enrolment's: unused (a code counts once), and within ±1 step of now.
  const answered = await submitFirst(slow, mfa, { code: totp(secret, enrolled + 1) });
  check(answered.leftTo, `the code was not accepted (${answered.status})`);
  const { claims } = await redeem(as, c, req, answered.leftTo, { maxAge: 3 });
  check(claims.acr === 'mfa', `acr ${claims.acr}`);
}

/** The code flow, ID token validation, UserInfo and refresh through Python Authlib. */
export async function gatehouse_authlib_code_flow(t) {
  const c = t.clients.client;
  const script = fileURLToPath(new URL('../authlib_rp.py', import.meta.url));
  const python = process.env.GATEHOUSE_PYTHON || 'python3';
  const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => lines.push(...String(d).split('\n').filter(Boolean)));
  const nextLine = async () => {
    for (let i = 0; i < 300 && !lines.length; i++) await sleep(100);
    if (!lines.length) throw new Fail(`Authlib said nothing: ${stderr.trim().split('\n').pop()}`);
    return JSON.parse(lines.shift());
  };
  child.stdin.write(`${JSON.stringify({ issuer: t.issuer, client_id: c.client_id, client_secret: c.client_secret, redirect_uri: REDIRECT_URI })}\n`);
  const { authorize: url } = await nextLine();
  const { callback } = await authorize(t.newBrowser(), url, { credentials: t.user });
  check(callback, 'the authorization did not come back to the client');
  child.stdin.write(`${callback}\n`);
  const out = await nextLine();
  child.stdin.end();
  if (out.error) throw new Fail(`Authlib: ${out.error}`);
  check(out.sub === t.user.id, `Authlib validated sub ${out.sub}`);
  check(out.userinfo?.email === t.user.login, `Authlib userinfo ${JSON.stringify(out.userinfo)}`);
  check(out.refreshed === true, 'Authlib could not refresh');
}
