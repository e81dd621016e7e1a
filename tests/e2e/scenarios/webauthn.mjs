// Security keys and passkeys (WebAuthn) through the hosted pages, with Chromium's virtual
// authenticators (lib/webauthn.mjs): a USB key without resident keys or user verification,
// and a device passkey with both. Listed in suite.mjs's SCENARIOS.

import {
  assert, chooseMethod, clickAndWait, confirmEmail, enrolTotp, expectCallback, expectHeading,
  noteRecoveryCodes, open, signIn, signOut,
} from '../lib/flow.mjs';
import { REDIRECT_URI, cli, createTenant, createUser } from '../lib/gatehouse.mjs';
import { mailNames, messagesTo } from '../lib/mail.mjs';
import { authorizationRequest, redeem } from '../lib/oidc.mjs';
import { PASSKEY, SECURITY_KEY, addAuthenticator } from '../lib/webauthn.mjs';

/**
 * The tenant: MFA optional, apps and keys allowed, passwordless sign-in on, the mailbox proven
 * before a first factor. Three clients: the tenant's rules, MFA required, phishing-resistant.
 */
export async function keysTenant() {
  const fx = await createTenant('e2e-keys', {
    name: 'Keyed Corp',
    settings: {
      mfa: 'optional', 'enrollment-proof': 'email', 'mfa-methods': 'totp,webauthn',
      'passkeys-passwordless': 'true',
    },
  });
  const client = async (name, policy) => {
    const c = await cli(['client', 'create', fx.slug, '--redirect-uri', REDIRECT_URI, '--name', name,
      '--first-party', '--mfa-policy', policy]);
    return { ...fx, client: { id: c.client_id, secret: c.client_secret, name: c.name } };
  };
  return { ...fx, required: await client('Payroll', 'required'), vault: await client('Vault', 'phishing_resistant') };
}

const amrOf = (claims) => (Array.isArray(claims.amr) ? claims.amr : []);

async function backAtApp(t, page, req) {
  return redeem(req, await expectCallback(t, page, req));
}

/** "Add a security key or passkey": name it, Continue, the browser's ceremony runs. */
async function addKey(t, page, label, { shot } = {}) {
  await expectHeading(page, 'Add a security key or passkey');
  const start = page.getByRole('button', { name: 'Continue' });
  await start.waitFor();
  assert(await start.isEnabled(), 'Continue stays disabled: webauthn.js did not run');
  if (shot) await t.capture(page, shot);
  await page.locator('#label').fill(label);
  await clickAndWait(page, start);
}

/**
 * 1. A USB security key as the second factor: added on the account pages (after the mailbox
 * proof), listed as a security key, asked for by an MFA-required client (`hwk`, `acr phr`, no
 * `user`: the key has no PIN), then removed.
 */
export async function security_key_second_factor(t, fx) {
  const keys = fx.keys;
  const user = await createUser(keys.slug, 'key');
  const page = await t.page();
  const key = await addAuthenticator(page, SECURITY_KEY);
  let req = authorizationRequest(keys);
  await open(page, req);
  await signIn(t, page, user);
  await backAtApp(t, page, req);

  await page.goto(`${keys.issuer}/account`);
  await expectHeading(page, 'Two-factor authentication');
  await clickAndWait(page, page.getByRole('link', { name: 'Add two-factor' }));
  await expectHeading(page, 'Add two-factor');
  await clickAndWait(page, page.getByRole('link', { name: 'Security key or passkey' }));
  await confirmEmail(t, page, user);
  await addKey(t, page, 'YubiKey 5', { shot: '60-account-add-key' });
  await expectHeading(page, 'Note down your recovery codes');
  await clickAndWait(page, page.getByRole('link', { name: 'Done' }));
  await expectHeading(page, 'Two-factor authentication');
  const listed = await page.content();
  assert(listed.includes('YubiKey 5') && listed.includes('Security key'), 'the key is listed as a security key');
  await t.capture(page, '61-account-key-listed');
  assert((await key.credentials()).length === 1, 'the authenticator holds one credential');

  await signOut(t, page, keys.issuer);
  req = authorizationRequest(keys.required);
  await open(page, req);
  await signIn(t, page, user);
  await expectHeading(page, 'Two-factor authentication');
  const use = page.getByRole('button', { name: 'Use your security key' });
  await use.waitFor();
  assert(await use.isEnabled(), '"Use your security key" stays disabled');
  await t.capture(page, '62-mfa-security-key');
  await clickAndWait(page, use);
  const claims = await backAtApp(t, page, req);
  const amr = amrOf(claims);
  assert(claims.acr === 'phr', `security key: acr ${claims.acr}, expected phr`);
  assert(amr.includes('pwd') && amr.includes('hwk') && amr.includes('mfa') && !amr.includes('user'),
    `security key: amr ${JSON.stringify(claims.amr)}`);

  await page.goto(`${keys.issuer}/account`);
  await expectHeading(page, 'Two-factor authentication');
  await clickAndWait(page, page.getByRole('button', { name: 'Remove YubiKey 5' }));
  assert((await page.content()).includes('The method was removed.'), 'removal confirmed');
  const subjects = (await messagesTo(user.email)).map((m) => m.subject.toLowerCase());
  for (const s of ['turned on', 'removed']) {
    assert(subjects.some((x) => x.includes(s)), `a mail about "${s}": ${JSON.stringify(subjects)}`);
  }
}

/**
 * 2. A phishing-resistant client: a user whose only factor is an authenticator app is not let
 * in with a code; after the mailbox proof they add a passkey (device-bound, user verification),
 * which answers (`hwk`, `user`, `acr phr`). Then passwordless: "Sign in with a passkey" alone.
 */
export async function passkey_phishing_resistant_and_passwordless(t, fx) {
  const keys = fx.keys;
  const user = await createUser(keys.slug, 'passkey');
  const page = await t.page();
  // A TOTP user, set up at an MFA-required client's sign-in.
  let req = authorizationRequest(keys.required);
  await open(page, req);
  await signIn(t, page, user);
  const firstProof = Date.now();
  await confirmEmail(t, page, user);
  await chooseMethod(t, page, 'Authenticator app', { expected: ['Authenticator app', 'Security key or passkey'] });
  await enrolTotp(t, page);
  await noteRecoveryCodes(t, page);
  await backAtApp(t, page, req);
  await signOut(t, page, keys.issuer);

  await addAuthenticator(page, PASSKEY);
  const seen = await mailNames(user.email);
  // One code per user per `otp.resend_interval_secs` (30 s): the next proof waits for it.
  await new Promise((r) => setTimeout(r, Math.max(0, firstProof + 31_000 - Date.now())));
  req = authorizationRequest(keys.vault);
  await open(page, req);
  await signIn(t, page, user);
  // No code is asked for: the key must be added first, after the mailbox proof.
  await confirmEmail(t, page, user, { seen });
  assert((await page.getByLabel('Enter the code from your authenticator app').count()) === 0, 'a code was offered');
  await addKey(t, page, 'This laptop', { shot: '63-enrol-key-phr' });
  let claims = await backAtApp(t, page, req);
  let amr = amrOf(claims);
  assert(claims.acr === 'phr' && amr.includes('hwk') && amr.includes('user'),
    `passkey at the phishing-resistant client: acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`);
  await signOut(t, page, keys.issuer);

  // Passwordless, by autofill: the sign-in page asks the browser for a passkey in the
  // background (conditional mediation); Chromium's virtual passkey answers at once, as a
  // person picking it from the email field's suggestions would.
  req = authorizationRequest(keys);
  await open(page, req);
  claims = await backAtApp(t, page, req);
  amr = amrOf(claims);
  assert(JSON.stringify(amr) === '["hwk","user","mfa"]' && claims.acr === 'phr',
    `passkey autofill: acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`);
  await signOut(t, page, keys.issuer);

  // Passwordless by the button, in a browser without autofill for passkeys.
  await page.addInitScript(() => {
    // eslint-disable-next-line no-undef
    PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
  req = authorizationRequest(keys);
  await open(page, req);
  await expectHeading(page, 'Sign in');
  const button = page.getByRole('button', { name: 'Sign in with a passkey' });
  await button.waitFor();
  assert(await button.isEnabled(), '"Sign in with a passkey" stays disabled');
  assert((await page.locator('#login').getAttribute('autocomplete')).includes('webauthn'), 'no passkey autofill hint');
  await t.capture(page, '64-login-passkey');
  await clickAndWait(page, button);
  claims = await backAtApp(t, page, req);
  amr = amrOf(claims);
  assert(JSON.stringify(amr) === '["hwk","user","mfa"]' && claims.acr === 'phr',
    `passwordless: acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`);

  await page.goto(`${keys.issuer}/account`);
  await expectHeading(page, 'Two-factor authentication');
  const listed = await page.content();
  assert(listed.includes('This laptop') && listed.includes('Passkey (device-bound)'),
    'the passkey is listed as a device-bound passkey');
  await t.capture(page, '65-account-passkey-listed');
}
