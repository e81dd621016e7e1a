// The driver of ./bench/faults: users signing in (password + TOTP, through the load balancer)
// and refreshing tokens while the script kills a node and restarts PostgreSQL, then the checks
// that nothing committed was lost.
//
//   node faults.mjs setup  --issuer URL --api URL --api-key KEY --client ID:SECRET --users N --out FILE
//   node faults.mjs race   --state FILE --nodes URL_A,URL_B --slug SLUG
//   node faults.mjs run    --state FILE --duration SECS --concurrency N --out FILE
//   node faults.mjs verify --state FILE --result FILE
//   node faults.mjs probe  --issuer URL --via NODE_URL --client ID:SECRET --login L --password P
//
// Every request goes through a fetch that retries what a client library retries: a refused or
// reset connection and a 502 (the load balancer lost its node mid-request: the node was killed)
// and a 503 (the database is restarting; after Retry-After, at most 1 s here), for up to 60 s.
// Each status is counted; any other 5xx is a failure, as is a flow that cannot finish.
import { readFileSync, writeFileSync } from 'node:fs';
import { Browser } from '../conformance/lib/browser.mjs';
import { args, authRequest, codeOf, discover, envOf, formWith, nextStep, parseClient, pool, signIn, userPicker } from './flows.mjs';
import { base32Decode, hotp } from '../tests/e2e/lib/totp.mjs';

const fail = (msg) => {
  throw new Error(msg);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the retrying fetch ---------------------------------------------------------------------
const seen = { 502: 0, 503: 0, network: 0, other5xx: 0, other5xxSamples: [] };
const realFetch = globalThis.fetch;
const RETRY_FOR_MS = 60_000;
// `probe --via`: the pages name the load balancer (the public URL); the requests go to one node.
const via = { from: null, to: null };
globalThis.fetch = async (url, init = {}) => {
  const until = Date.now() + RETRY_FOR_MS;
  if (via.from && String(url).startsWith(via.from)) url = via.to + String(url).slice(via.from.length);
  let retried = false;
  for (;;) {
    let res;
    try {
      // A fresh timeout per attempt: the caller's signal would span every retry.
      res = await realFetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      seen.network++;
      if (Date.now() > until) throw e;
      await sleep(200);
      continue;
    }
    if (res.status === 502 || res.status === 503) {
      seen[res.status]++;
      if (Date.now() > until) return res;
      const after = Number(res.headers.get('retry-after') ?? 1);
      await res.arrayBuffer();
      await sleep(Math.min(1000, Math.max(100, after * 1000)));
      retried = true;
      continue;
    }
    if (res.status >= 500) {
      seen.other5xx++;
      if (seen.other5xxSamples.length < 5) seen.other5xxSamples.push(`${res.status} ${init.method ?? 'GET'} ${new URL(url).pathname}`);
    }
    // Whether this answer follows a 502/503 the request was sent again after (see `inDoubt`).
    Object.defineProperty(res, 'retried', { value: retried });
    return res;
  }
};

async function api(o, path, init = {}) {
  const res = await fetch(`${o.api}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${o['api-key']}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const body = await res.json().catch(() => ({}));
  return { status: res.status, body };
}

// ---- setup: users made through the API, each enrolled once through the hosted pages ---------
async function setup(o) {
  const env = { ...(await discover(o.issuer)), client: parseClient(o.client) };
  const n = Number(o.users);
  const users = [];
  await pool(n, 4, async (i) => {
    const user = { login: `faults-${i}@example.test`, password: `pw-${i}-${Date.now()}-long-enough`, last: 0 };
    const res = await api(o, '/users', { method: 'POST', body: JSON.stringify({ email: user.login, password: user.password, email_verified: true }) });
    if (res.status !== 201) fail(`user create: ${res.status} ${JSON.stringify(res.body)}`);
    user.id = res.body.id;
    await signIn(env, user, { enrol: true });
    users[i] = user;
  });
  writeFileSync(o.out, JSON.stringify({ ...env, api: o.api, 'api-key': o['api-key'], users }));
}

// ---- race: one code and one refresh token redeemed at both nodes at the same instant -------
/** A sign-in up to the authorization response: its code and PKCE verifier. */
async function codeFor(env, user) {
  const browser = new Browser(new URL(env.issuer).origin, { timeoutMs: 30_000 });
  const req = authRequest(env);
  let res = await browser.navigate(req.url);
  res = await browser.submit(res.url, formWith(res, 'password'), { login: user.login, password: user.password });
  let step = nextStep(user);
  while (step === null) {
    await sleep(1000);
    step = nextStep(user);
  }
  user.last = step;
  res = await browser.submit(res.url, formWith(res, 'code'), { code: hotp(base32Decode(user.secret), step) });
  if (!res.leftTo) fail(`the sign-in stopped on ${new URL(res.url).pathname} (status ${res.status})`);
  return { code: codeOf(res.leftTo, req.state), verifier: req.verifier };
}

function tokenPost(url, client, form) {
  return realFetch(url, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form),
  }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => ({})) }));
}

async function race(o) {
  const state = JSON.parse(readFileSync(o.state, 'utf8'));
  const nodes = o.nodes.split(',').map((n) => `${n}/t/${o.slug}/token`);
  const user = state.users[0];
  const redirect = 'http://localhost:9000/callback';
  const { code, verifier } = await codeFor(state, user);
  const form = { grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier };
  const both = await Promise.all(nodes.map((n) => tokenPost(n, state.client, form)));
  const winners = both.filter((r) => r.status === 200);
  // One redemption spends the code; the other is reuse, which revokes the grant. When that
  // revocation lands before the winner's tokens are handed out, the winner is told "the grant
  // was revoked" too (dead on arrival, by design: docs/security.md), so at most one 200.
  const codeOk = winners.length <= 1 && both.filter((r) => r.status === 400 && r.body.error === 'invalid_grant').length === 2 - winners.length;
  // The loser's reuse detection revokes the grant: the winner's refresh token is dead too.
  let codeRevoked = winners.length === 0;
  if (winners.length === 1 && winners[0].body.refresh_token) {
    const after = await tokenPost(nodes[0], state.client, { grant_type: 'refresh_token', refresh_token: winners[0].body.refresh_token });
    codeRevoked = after.status === 400 && after.body.error === 'invalid_grant';
  }

  const fresh = await codeFor(state, user);
  const issued = await tokenPost(nodes[0], state.client, { grant_type: 'authorization_code', code: fresh.code, redirect_uri: redirect, code_verifier: fresh.verifier });
  const rt = issued.body.refresh_token ?? fail(`no refresh token: ${JSON.stringify(issued.body)}`);
  const rboth = await Promise.all(nodes.map((n) => tokenPost(n, state.client, { grant_type: 'refresh_token', refresh_token: rt })));
  const rwinners = rboth.filter((r) => r.status === 200);
  const refreshOk = rwinners.length <= 1 && rboth.filter((r) => r.status === 400 && r.body.error === 'invalid_grant').length === 2 - rwinners.length;
  let refreshRevoked = rwinners.length === 0;
  if (rwinners.length === 1) {
    const after = await tokenPost(nodes[1], state.client, { grant_type: 'refresh_token', refresh_token: rwinners[0].body.refresh_token });
    refreshRevoked = after.status === 400 && after.body.error === 'invalid_grant';
  }
  writeFileSync(o.state, JSON.stringify(state));
  const out = {
    code: { answers: both.map((r) => `${r.status} ${r.body.error_description ?? ''}`.trim()), spent_once: codeOk, reuse_revoked_the_grant: codeRevoked },
    refresh: { answers: rboth.map((r) => `${r.status} ${r.body.error_description ?? ''}`.trim()), spent_once: refreshOk, reuse_revoked_the_grant: refreshRevoked },
  };
  console.log(JSON.stringify(out));
  if (!(codeOk && codeRevoked && refreshOk && refreshRevoked)) process.exit(1);
}

// ---- run: sign-ins and refreshes for a bounded time ------------------------------------------
async function run(o) {
  const state = JSON.parse(readFileSync(o.state, 'utf8'));
  const env = envOf(state);
  const users = state.users;
  const until = Date.now() + Number(o.duration) * 1000;
  const flows = Object.fromEntries(users.map((u) => [u.id, 0]));
  const errors = [];
  // Refresh tokens the server handed out (committed): each is refreshed now and then, and
  // whatever is live at the end must still refresh in `verify`.
  const live = [];
  let refreshes = 0;
  let inDoubt = 0;
  const take = userPicker(users);
  const signer = async () => {
    while (Date.now() < until) {
      const user = take();
      if (!user) {
        await sleep(100);
        continue;
      }
      user.busy = true;
      try {
        const t = await signIn(env, user);
        flows[user.id]++;
        if (t.refresh_token) live.push(t.refresh_token);
      } catch (e) {
        errors.push(`sign-in: ${e.message ?? e}`);
      } finally {
        user.busy = false;
      }
    }
  };
  const refresher = async () => {
    while (Date.now() < until) {
      const rt = live.shift();
      if (!rt) {
        await sleep(100);
        continue;
      }
      const res = await fetch(env.token, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${env.client.id}:${env.client.secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt }),
      });
      const body = await res.json().catch(() => ({}));
      if (res.status === 200 && body.refresh_token) {
        refreshes++;
        live.push(body.refresh_token);
      } else if (res.retried && res.status === 400 && body.error === 'invalid_grant') {
        // In doubt, not lost: the first try's rotation committed but its answer was a 503 (the
        // restart broke the connection after the commit), so the retry presented a spent token
        // and reuse detection revoked the grant, as it must. A client cannot tell, either.
        inDoubt++;
      } else {
        errors.push(`refresh: ${res.status} ${body.error ?? ''}`);
      }
      await sleep(200);
    }
  };
  await Promise.all([...Array.from({ length: Number(o.concurrency) }, signer), refresher()]);
  const result = { flows: Object.values(flows).reduce((a, b) => a + b, 0), per_user: flows, refreshes, refreshes_in_doubt: inDoubt, live_refresh_tokens: live, errors, seen };
  writeFileSync(o.out, JSON.stringify(result));
  writeFileSync(o.state, JSON.stringify(state));
  console.log(JSON.stringify({ flows: result.flows, refreshes, refreshes_in_doubt: inDoubt, errors: errors.length, first_errors: [...new Set(errors)].slice(0, 3), seen }));
}

// ---- verify: nothing committed is lost ---------------------------------------------------------
async function verify(o) {
  const state = JSON.parse(readFileSync(o.state, 'utf8'));
  const result = JSON.parse(readFileSync(o.result, 'utf8'));
  const a = { api: state.api, 'api-key': state['api-key'] };
  const losses = [];
  // Every refresh token handed out and not yet used still refreshes.
  let refreshed = 0;
  for (const rt of result.live_refresh_tokens) {
    const r = await tokenPost(state.token, state.client, { grant_type: 'refresh_token', refresh_token: rt });
    if (r.status === 200) refreshed++;
    else losses.push(`a committed refresh token no longer refreshes: ${r.status} ${r.body.error ?? ''}`);
  }
  let sessions = 0;
  let passed = 0;
  for (const u of state.users) {
    const f = await api(a, `/users/${u.id}/factors`);
    if (f.status !== 200 || f.body.items.length !== 1) losses.push(`${u.login}: factors ${f.status} ${JSON.stringify(f.body.items?.length)}`);
    const s = await api(a, `/users/${u.id}/sessions`);
    const flows = result.per_user[u.id] ?? 0;
    // The enrolment sign-in, the race's and every flow of the run each made a session.
    if (s.status !== 200 || s.body.items.length < flows) losses.push(`${u.login}: ${s.body.items?.length} sessions for ${flows} sign-ins`);
    sessions += s.body.items?.length ?? 0;
    const ev = await api(a, `/audit-events?user_id=${u.id}&event=mfa.challenge_passed&limit=200`);
    if (ev.status !== 200 || ev.body.items.length < flows) losses.push(`${u.login}: ${ev.body.items?.length} mfa.challenge_passed events for ${flows} sign-ins`);
    passed += ev.body.items?.length ?? 0;
  }
  const out = {
    sign_ins: result.flows,
    refreshes: result.refreshes,
    refreshes_in_doubt: result.refreshes_in_doubt ?? 0,
    committed_refresh_tokens_checked: result.live_refresh_tokens.length,
    still_refresh: refreshed,
    sessions,
    challenge_passed_events: passed,
    run_errors: result.errors.length,
    seen: result.seen,
    losses,
  };
  console.log(JSON.stringify(out));
  const bad = losses.length > 0 || result.errors.length > 0 || result.seen.other5xx > 0 || result.flows === 0;
  if (bad) process.exit(1);
}

// ---- probe: one sign-in; is a second factor asked for? ---------------------------------------
async function probe(o) {
  if (o.via) Object.assign(via, { from: new URL(o.issuer).origin, to: o.via });
  const env = { ...(await discover(o.issuer)), client: parseClient(o.client) };
  const browser = new Browser(new URL(env.issuer).origin, { timeoutMs: 30_000 });
  const req = authRequest(env);
  let res = await browser.navigate(req.url);
  res = await browser.submit(res.url, formWith(res, 'password'), { login: o.login, password: o.password });
  console.log(res.leftTo ? 'code' : /two-factor|authenticator/i.test(res.body) ? 'mfa' : `other ${res.status}`);
}

const o = args(process.argv.slice(2));
const commands = { setup, race, run, verify, probe };
(commands[o._] ?? (() => fail(`unknown command ${o._}`)))(o).catch((e) => {
  console.error(`faults.mjs ${o._}: ${e.message ?? e}`);
  process.exit(1);
});
