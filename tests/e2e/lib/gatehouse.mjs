// Fixtures through Gatehouse's own admin CLI (`--json`), with the same GATEHOUSE_* env as the
// running server (set by ./run), so both share one SQLite database. Same approach as
// conformance/lib/gatehouse.mjs.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const BASE_URL = (process.env.GATEHOUSE_URL || '').replace(/\/$/, '');

/** Where the client's redirect URI points: nothing listens there, the browser route fulfils it. */
export const REDIRECT_URI = 'http://127.0.0.1:9/cb';

/** Runs `gatehouse ARGS... --json` and returns the one JSON object it prints. */
export async function cli(args, { input } = {}) {
  const bin = process.env.GATEHOUSE_BIN;
  if (!bin) throw new Error('GATEHOUSE_BIN is not set (start the suite through ./run)');
  const child = run(bin, [...args, '--json'], {
    cwd: process.env.GATEHOUSE_WORKDIR || process.cwd(),
    env: process.env,
    timeout: 30_000,
  });
  if (input !== undefined) child.child.stdin.end(input);
  try {
    const { stdout } = await child;
    return JSON.parse(stdout.trim().split('\n').pop());
  } catch (e) {
    throw new Error(`gatehouse ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/**
 * A tenant (issuer) with one client. `settings` are `tenant update` flags, e.g.
 * `{ mfa: 'required', 'enrollment-proof': 'email' }`. Gatehouse caches tenant settings for a
 * few seconds per node, so fixtures are created before the first page of that tenant is loaded
 * and never changed afterwards.
 */
export async function createTenant(slug, { name, settings = {}, client = {} } = {}) {
  await cli(['tenant', 'create', slug, '--name', name || slug]);
  const flags = Object.entries(settings).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const tenant = flags.length ? await cli(['tenant', 'update', slug, ...flags]) : null;
  const created = await cli([
    'client', 'create', slug,
    '--redirect-uri', REDIRECT_URI,
    '--name', client.name || `${name || slug} app`,
    ...(client.firstParty === false ? [] : ['--first-party']),
    ...(client.extra || []),
  ]);
  return {
    slug,
    tenant,
    issuer: `${BASE_URL}/t/${slug}`,
    client: { id: created.client_id, secret: created.client_secret, name: created.name },
  };
}

let userSeq = 0;

/** A user with a verified email (a unique address per call) and a known password. */
export async function createUser(slug, label = 'user') {
  userSeq += 1;
  const email = `${label}-${userSeq}-${process.pid}@example.com`;
  const password = `correct horse battery ${userSeq}`;
  const created = await cli(
    ['user', 'create', slug, email, '--password-stdin', '--name', `E2E ${label}`, '--email-verified'],
    { input: `${password}\n` },
  );
  return { email, password, id: created.id };
}
