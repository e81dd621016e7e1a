// Test fixtures through Gatehouse's own admin CLI (`--json`), with the same GATEHOUSE_* env as
// the running server (set by ./run), so both share one SQLite database.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `gatehouse ARGS... --json` and returns the one JSON object it prints. */
export async function cli(args, { input } = {}) {
  const bin = process.env.GATEHOUSE_BIN;
  if (!bin) throw new Error('GATEHOUSE_BIN is not set (start the runner through ./run)');
  const child = run(bin, [...args, '--json'], {
    cwd: process.env.GATEHOUSE_WORKDIR || process.cwd(),
    env: process.env,
    timeout: 30_000,
  });
  if (input !== undefined) {
    child.child.stdin.end(input);
  }
  const { stdout } = await child;
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** Redirect URIs the RP registers. Nothing listens there: the runner reads `Location` only. */
export const REDIRECT_URI = 'http://127.0.0.1:9/cb';
export const REDIRECT_URI_2 = 'http://127.0.0.1:9/cb2';
export const POST_LOGOUT_REDIRECT_URI = 'http://127.0.0.1:9/post_logout_redirect';

/** The address the fixture user gets (OIDC Core §5.1.1). */
export const ADDRESS = {
  formatted: '1 Example Street\nSpringfield 12345\nUS',
  street_address: '1 Example Street',
  locality: 'Springfield',
  region: 'IL',
  postal_code: '12345',
  country: 'US',
};

const PROFILE_FLAGS = [
  '--username', 'alice',
  '--given-name', 'Alice',
  '--family-name', 'Example',
  '--middle-name', 'Jane',
  '--nickname', 'Ali',
  '--profile-url', 'https://example.com/alice',
  '--picture', 'https://example.com/alice.png',
  '--website', 'https://alice.example.com',
  '--gender', 'female',
  '--birthdate', '1990-04-01',
  '--zoneinfo', 'America/Chicago',
  '--locale', 'en-US',
  '--address-json', JSON.stringify(ADDRESS),
  '--phone', '+12015550100',
  '--phone-verified', 'true',
];

/**
 * One tenant (issuer) with the clients the modules need, mirroring the official plan's
 * `client` and `client2` plus the extra clients Gatehouse offers (public, ES256, EdDSA), and one
 * user with a verified email, a verified phone number and every profile claim and address
 * member filled in (`gatehouse user update`).
 */
export async function createFixtures(slug) {
  await cli(['tenant', 'create', slug, '--name', 'Conformance']);
  const confidential = (extra = []) =>
    cli([
      'client', 'create', slug,
      '--redirect-uri', REDIRECT_URI,
      '--redirect-uri', REDIRECT_URI_2,
      '--post-logout-redirect-uri', POST_LOGOUT_REDIRECT_URI,
      ...extra,
    ]);
  // `client`: a third-party client, so the consent page is part of the flow as at a real OP.
  const client = await confidential(['--name', 'Conformance client']);
  // `client2`: the official plan's second client (refresh-token binding checks).
  const client2 = await confidential(['--name', 'Conformance client 2']);
  // A client authenticates only with its registered method; the client_secret_post module
  // uses this one.
  const post = await confidential([
    '--name', 'Conformance client (post)', '--token-endpoint-auth-method', 'client_secret_post',
  ]);
  const es256 = await confidential(['--name', 'ES256 client', '--id-token-alg', 'ES256', '--first-party']);
  const eddsa = await confidential(['--name', 'EdDSA client', '--id-token-alg', 'EdDSA', '--first-party']);
  const pub = await cli([
    'client', 'create', slug, '--public', '--first-party', '--name', 'Public client',
    '--redirect-uri', REDIRECT_URI,
  ]);
  const user = { login: 'alice@example.com', password: 'correct horse battery staple', name: 'Alice Example' };
  const created = await cli(
    ['user', 'create', slug, user.login, '--password-stdin', '--name', user.name, '--email-verified'],
    { input: `${user.password}\n` },
  );
  // Every standard claim (OIDC Core §5.1), so the scope modules find each one they ask for.
  await cli(['user', 'update', slug, user.login, ...PROFILE_FLAGS]);
  return { client, client2, post, es256, eddsa, pub, user: { ...user, id: created.id ?? created.user_id } };
}
