// The sign-in side of ./bench/run: a client that reads Gatehouse's real hosted pages (a cookie
// jar, the server-rendered forms, JavaScript off), as conformance/lib/browser.mjs does.
//
//   node flows.mjs setup  --issuer URL --api URL --api-key KEY --client ID:SECRET --users N --out FILE
//   node flows.mjs run    --state FILE --concurrency 8 --duration SECS
//   node flows.mjs peer   --issuer URL --client ID:SECRET --count N --out FILE
//
// setup: makes N users through the admin API, then signs each in once through the hosted pages
//   (password → the TOTP set-up the tenant requires → recovery codes → Done → code → token with
//   PKCE), keeping each user's TOTP seed from the typed-key text on the page, and the tokens of
//   those first sign-ins (for the userinfo and refresh workloads). Writes FILE (JSON).
// run: `concurrency` workers each repeat a full sign-in for `duration` seconds: authorize →
//   password → TOTP code (computed from the seed) → code → token exchange with PKCE, every
//   step checked. Prints one JSON line: flows, flows/s, p50/p99 of a whole flow, errors.
// peer: N sign-ins at oidc-provider's own interaction pages (devInteractions: any login), with
//   offline_access and prompt=consent, to get its refresh and access tokens. Writes FILE.
//
// Every flow starts with an empty cookie jar, so each one is a new sign-in that verifies a
// password (one argon2id hash), not an SSO session reused.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Browser, parseForms } from '../conformance/lib/browser.mjs';
import { base32Decode, hotp } from '../tests/e2e/lib/totp.mjs';

const REDIRECT_URI = 'http://localhost:9000/callback';
// A server that stops answering fails the run instead of hanging it.
const TIMEOUT_MS = 30_000;

export function args(argv) {
  const out = { _: argv[0] };
  for (let i = 1; i < argv.length; i++) {
    const m = /^--(.+)$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    out[m[1]] = argv[++i];
  }
  return out;
}

const b64url = (buf) => buf.toString('base64url');
const fail = (msg) => {
  throw new Error(msg);
};

/** The endpoints of `issuer`, from its discovery document (oidc-provider's differ). */
export async function discover(issuer) {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (res.status !== 200) fail(`discovery of ${issuer}: ${res.status}`);
  const d = await res.json();
  return { issuer, authorize: d.authorization_endpoint, token: d.token_endpoint };
}

/** An authorization request with PKCE (S256), state and nonce. */
export function authRequest(env, extra = {}) {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const u = new URL(env.authorize);
  const params = {
    response_type: 'code',
    client_id: env.client.id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid email',
    state: b64url(randomBytes(12)),
    nonce: b64url(randomBytes(12)),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return { url: u.href, verifier, state: params.state };
}

/** The code of an authorization response, after checking its state. */
export function codeOf(callback, state) {
  const u = new URL(callback);
  if (u.searchParams.get('error')) fail(`authorization error: ${u.searchParams.get('error')} ${u.searchParams.get('error_description') ?? ''}`);
  if (u.searchParams.get('state') !== state) fail('the authorization response has the wrong state');
  return u.searchParams.get('code') ?? fail('the authorization response has no code');
}

export async function exchange(tokenUrl, client, code, verifier) {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = await res.json();
  if (res.status !== 200 || !body.id_token || !body.access_token) fail(`token exchange: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export function parseClient(s) {
  const i = (s ?? '').indexOf(':');
  if (i < 1) fail('--client wants ID:SECRET');
  return { id: s.slice(0, i), secret: s.slice(i + 1) };
}

/** The first form with a field (or button) named `name`, or a failure naming the page. */
export function formWith(res, name) {
  const form = parseForms(res.body).find((f) => f.fields[name] !== undefined || f.buttons.some((b) => b.name === name));
  if (!form) fail(`no form with "${name}" on ${new URL(res.url).pathname} (status ${res.status})`);
  return form;
}

// A TOTP time step is accepted once per factor, within ±1 step of the server's clock. Each user
// remembers the last step it used; a flow takes the oldest step still safely inside the window.
const STEP_MS = 30_000;
const MARGIN_MS = 2_000;
export function nextStep(user, now = Date.now()) {
  const lowest = Math.floor((now + MARGIN_MS) / STEP_MS) - 1;
  const highest = Math.floor((now - MARGIN_MS) / STEP_MS) + 1;
  const step = Math.max(user.last + 1, lowest);
  return step <= highest ? step : null;
}

/** One full sign-in of `user`; returns the token response. */
export async function signIn(env, user, { enrol = false } = {}) {
  const browser = new Browser(new URL(env.issuer).origin, { timeoutMs: TIMEOUT_MS });
  const req = authRequest(env);
  let res = await browser.navigate(req.url);
  if (res.leftTo) fail('the authorization request left the OP before the sign-in page');
  res = await browser.submit(res.url, formWith(res, 'password'), { login: user.login, password: user.password });
  if (enrol) {
    // "Set up an authenticator app": the typed key from the page, a code for it, Enable.
    const key = /id="totp-key">([^<]+)</.exec(res.body)?.[1] ?? fail(`no TOTP key on ${res.url} (status ${res.status})`);
    user.secret = key.replace(/\s+/g, '');
    const step = nextStep(user);
    res = await browser.submit(res.url, formWith(res, 'code'), { label: 'bench', code: hotp(base32Decode(user.secret), step) }, { name: 'action', value: 'enable' });
    user.last = step;
    // "Note down your recovery codes" → Done.
    if (!res.leftTo) res = await browser.submit(res.url, parseForms(res.body).find((f) => f.action === 'recovery-codes') ?? fail(`no recovery-codes form on ${res.url}`));
  } else {
    const step = nextStep(user) ?? fail('no TOTP step left for this user');
    user.last = step;
    res = await browser.submit(res.url, formWith(res, 'code'), { code: hotp(base32Decode(user.secret), step) });
  }
  if (!res.leftTo) fail(`the sign-in stopped on ${new URL(res.url).pathname} (status ${res.status})`);
  return exchange(env.token, env.client, codeOf(res.leftTo, req.state), req.verifier);
}

/** Round-robin over `users`, skipping one that is busy or whose TOTP steps are used up for now. */
export function userPicker(users) {
  let cursor = 0;
  return () => {
    for (let tries = 0; tries < users.length; tries++) {
      const u = users[cursor++ % users.length];
      if (!u.busy && nextStep(u) !== null) return u;
    }
    return null;
  };
}

/** The environment of a `setup` state file: issuer, endpoints, client. */
export function envOf(state) {
  return { issuer: state.issuer, authorize: state.authorize, token: state.token, client: state.client };
}

/** Runs `fn(i)` for i in 0..n with at most `width` at once. */
export async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function setup(o) {
  const env = { ...(await discover(o.issuer)), client: parseClient(o.client) };
  const n = Number(o.users);
  const users = [];
  const stamp = b64url(randomBytes(4));
  await pool(n, 4, async (i) => {
    const user = { login: `bench-${stamp}-${i}@example.test`, password: b64url(randomBytes(18)), last: 0 };
    const res = await fetch(`${o.api}/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o['api-key']}`, 'content-type': 'application/json' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
      body: JSON.stringify({ email: user.login, password: user.password, email_verified: true }),
    });
    if (res.status !== 201) fail(`user create: ${res.status} ${await res.text()}`);
    users[i] = user;
  });
  const tokens = [];
  await pool(n, 4, async (i) => {
    tokens[i] = await signIn(env, users[i], { enrol: true });
  });
  const refresh = tokens.map((t) => t.refresh_token).filter(Boolean);
  if (refresh.length < n) fail(`only ${refresh.length} of ${n} sign-ins returned a refresh token`);
  writeFileSync(o.out, JSON.stringify({ ...env, users, access_token: tokens[0].access_token, refresh_tokens: refresh }));
}

async function run(o) {
  const state = JSON.parse(readFileSync(o.state, 'utf8'));
  const env = envOf(state);
  const users = state.users;
  const until = Date.now() + Number(o.duration) * 1000;
  const latencies = [];
  const errors = [];
  let starved = 0;
  const take = userPicker(users);
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: Number(o.concurrency) }, async () => {
    while (Date.now() < until) {
      const user = take();
      if (!user) {
        starved++;
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      user.busy = true;
      const t0 = performance.now();
      try {
        await signIn(env, user);
        latencies.push(performance.now() - t0);
      } catch (e) {
        errors.push(String(e.message ?? e));
      } finally {
        user.busy = false;
      }
    }
  }));
  const secs = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : 0);
  console.log(JSON.stringify({
    flows: latencies.length,
    seconds: secs,
    flows_per_sec: latencies.length / secs,
    p50_ms: pct(0.5),
    p99_ms: pct(0.99),
    errors: errors.length,
    first_errors: [...new Set(errors)].slice(0, 3),
    starved,
    // This driver's own CPU time: it shares the machine's cores with the server.
    driver_cpu_secs: (cpu.user + cpu.system) / 1e6,
  }));
}

/** oidc-provider's dev interaction pages: a login form (any name), then a consent form. */
async function peer(o) {
  const env = { ...(await discover(o.issuer)), client: parseClient(o.client) };
  const origin = new URL(o.issuer).origin;
  const out = [];
  await pool(Number(o.count), 4, async (i) => {
    const browser = new Browser(origin, { timeoutMs: TIMEOUT_MS });
    const req = authRequest(env, { scope: 'openid offline_access', prompt: 'consent' });
    let res = await browser.navigate(req.url);
    for (let page = 0; !res.leftTo && page < 4; page++) {
      const form = parseForms(res.body)[0] ?? fail(`peer: no form at ${res.url} (status ${res.status})`);
      const values = form.fields.login !== undefined ? { login: `bench-${i}`, password: 'x' } : {};
      res = await browser.submit(res.url, form, values);
    }
    if (!res.leftTo) fail('peer: the sign-in did not come back with a code');
    out[i] = await exchange(env.token, env.client, codeOf(res.leftTo, req.state), req.verifier);
  });
  const refresh = out.map((t) => t.refresh_token).filter(Boolean);
  if (refresh.length < out.length) fail(`peer: only ${refresh.length} of ${out.length} sign-ins returned a refresh token`);
  writeFileSync(o.out, JSON.stringify({ access_token: out[0].access_token, refresh_tokens: refresh }));
}

// Run as a script (bench/faults.mjs imports the pieces above).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const o = args(process.argv.slice(2));
  const commands = { setup, run, peer };
  (commands[o._] ?? (() => fail(`unknown command ${o._} (setup, run, peer)`)))(o).catch((e) => {
    console.error(`flows.mjs ${o._}: ${e.message ?? e}`);
    process.exit(1);
  });
}
