#!/usr/bin/env node
// Gatehouse end-to-end browser suite: Debian's chromium (playwright-core) walks the hosted
// sign-in pages from a real client redirect to the authorization response, takes screenshots
// of every distinct page at desktop and phone widths, and checks each with axe-core.
//
// Output: one line per scenario,
//
//   PASS <scenario>
//   FAIL <scenario>: <reason>        (axe details and the server's view follow on stderr)
//
// and last `N passed, N failed`. Exit status 1 if anything failed.
//
// Started by ./run, which provides GATEHOUSE_URL, GATEHOUSE_BIN, GATEHOUSE_MAIL__DIR and the
// GATEHOUSE_* settings the admin CLI needs to reach the same database. Arguments filter
// scenarios by name (substring).
//
// Adding a scenario: write `async function name(t, fx)` below (t: a Scenario from
// lib/browser.mjs — contexts, capture(), app.callbackFor(); fx: the fixtures from setup()), using the
// page steps of lib/flow.mjs, and list it in SCENARIOS. Give each new page a new capture
// number; a scenario that needs different tenant settings gets its own tenant in setup()
// (tenant settings are cached by the server, so they are never changed after start).

import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startApp } from './lib/app.mjs';
import { launch, Scenario, SCREENSHOTS } from './lib/browser.mjs';
import {
  AssertionError, answerEmail, answerRecovery, chooseMethod, clickAndWait, answerTotp, assert, confirmEmail,
  enrolEmail, enrolTotp, expectCallback, expectFieldError, expectHeading, noteRecoveryCodes, open, signIn, signOut,
} from './lib/flow.mjs';
import { BASE_URL, REDIRECT_URI, cli, createTenant, createUser } from './lib/gatehouse.mjs';
import { mailNames, messagesTo, waitForCode } from './lib/mail.mjs';
import { textNames, waitForText } from './lib/sms.mjs';
import { Authenticator } from './lib/totp.mjs';
import { authorizationRequest, redeem } from './lib/oidc.mjs';
import { keysTenant, passkey_phishing_resistant_and_passwordless, security_key_second_factor } from './scenarios/webauthn.mjs';

if (!BASE_URL || !process.env.GATEHOUSE_MAIL__DIR) {
  console.error('GATEHOUSE_URL / GATEHOUSE_MAIL__DIR are not set; run ./tests/e2e/run');
  process.exit(2);
}

const SCENARIO_TIMEOUT_MS = 60_000;
/** The single-page application's origin (lib/app.mjs serves it). */
const SPA_ORIGIN = 'http://127.0.0.1:9';

// ---------------------------------------------------------------------------------------------
// Fixtures: one tenant per set of MFA settings, each with one client at http://127.0.0.1:9/cb.

async function setup() {
  const [mfa, strict, optional, email, sms] = await Promise.all([
    // MFA required; enrolment at sign-in proven by a code sent by email; trusted devices.
    createTenant('e2e', {
      name: 'Acme',
      settings: { mfa: 'required', 'enrollment-proof': 'email', 'trusted-device-days': 30 },
    }),
    // One wrong code ends the sign-in ("Too many attempts"); no email proof, to keep it short.
    createTenant('e2e-strict', {
      name: 'Strict Corp',
      settings: { mfa: 'required', 'enrollment-proof': 'none', 'mfa-max-attempts': 1 },
    }),
    // MFA optional but offered at sign-in (skippable set-up), and a third-party client (consent).
    createTenant('e2e-optional', {
      name: 'Optional Ltd',
      settings: { mfa: 'optional', 'prompt-enrollment': 'true' },
      client: { name: 'Partner app', firstParty: false },
    }),
    // MFA required with a choice of methods (app or emailed code), after the mailbox proof.
    createTenant('e2e-email', {
      name: 'Mailbox Inc',
      settings: { mfa: 'required', 'enrollment-proof': 'email', 'mfa-methods': 'totp,email' },
    }),
    // MFA required by text message only, after the mailbox proof (US numbers by default).
    createTenant('e2e-sms', {
      name: 'Texting Co',
      settings: { mfa: 'required', 'enrollment-proof': 'email', 'mfa-methods': 'sms' },
    }),
  ]);
  // Self-registration with the MFA set-up offered (Skip) after the email is verified.
  const register = await createTenant('e2e-register', {
    name: 'Signup Co',
    settings: { registration: 'true', 'registration-mfa-setup': 'optional' },
  });
  // The admin console changes this one (through the server, which updates its own cache).
  const consoleTenant = await createTenant('e2e-console', { name: 'Console Co' });
  return {
    mfa, strict, optional, email, sms, register, spa: await spaTenant(), console: consoleTenant,
    keys: await keysTenant(),
  };
}

/** A browser application: a public client whose page (http://127.0.0.1:9) calls the API. */
function spaTenant() {
  return createTenant('e2e-spa', {
    name: 'Single Page Inc',
    client: { name: 'Single-page app', extra: ['--public', '--web-origin', SPA_ORIGIN] },
  });
}

// ---------------------------------------------------------------------------------------------
// Shared steps

const amr = (claims) => (Array.isArray(claims.amr) ? claims.amr : []);

/**
 * Signs a new user in from the client's redirect and walks the required set-up: [Confirm it's
 * you] → Set up two-factor → recovery codes → back at the application. `shots` names the
 * captures (omit for a set-up that is only a means to an end). Returns what the person now
 * holds: the authenticator app, the recovery codes, and the page (signed in).
 */
async function enrolNewUser(t, fixture, { label, page, shots = {}, extra = {} } = {}) {
  const user = await createUser(fixture.slug, label);
  page ??= await t.page();
  const req = authorizationRequest(fixture, extra);
  await open(page, req);
  await signIn(t, page, user, { shot: shots.login });
  if (fixture.tenant?.mfa_enrollment_proof === 'email') {
    await confirmEmail(t, page, user, { shot: shots.confirm });
  }
  const authenticator = await enrolTotp(t, page, { shot: shots.enrol });
  const codes = await noteRecoveryCodes(t, page, { shot: shots.codes });
  return { user, page, authenticator, codes, req };
}

/** Completes at the redirect URI and redeems the code; returns the ID token's claims. */
async function backAtApp(t, page, req) {
  const code = await expectCallback(t, page, req);
  return redeem(req, code);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/** 1. First sign-in where the tenant requires MFA: email proof, TOTP set-up, recovery codes. */
async function enrolment_with_email_proof(t, fx) {
  const { user, page, req } = await enrolNewUser(t, fx.mfa, {
    label: 'enrol',
    shots: { login: '01-login', confirm: '02-confirm-email', enrol: '03-enrol-totp', codes: '04-recovery-codes' },
  });
  const claims = await backAtApp(t, page, req);
  assert(claims.acr === 'mfa', `acr ${claims.acr}, expected mfa`);
  assert(amr(claims).includes('otp'), `amr ${JSON.stringify(claims.amr)} lacks otp`);
  const subjects = (await messagesTo(user.email)).map((m) => m.subject);
  assert(subjects.includes('Two-factor authentication was turned on'),
    `no "turned on" notice mailed; subjects: ${JSON.stringify(subjects)}`);
}

/**
 * 2. Sign out, sign in with the app code (a wrong code first), trust the device; then a
 * `prompt=login` sign-in asks for the password only.
 */
async function totp_challenge_and_trusted_device(t, fx) {
  const { user, page, authenticator } = await enrolNewUser(t, fx.mfa, { label: 'trust' });
  await signOut(t, page, fx.mfa.issuer, { confirmShot: '05-logout-confirm', doneShot: '06-signed-out' });

  let req = authorizationRequest(fx.mfa);
  await open(page, req);
  await signIn(t, page, user);
  await answerTotp(t, page, authenticator, { shot: '07-mfa-totp', code: authenticator.wrongCode() });
  await expectHeading(page, 'Two-factor authentication');
  await expectFieldError(page, '#code', /didn.t work/);
  await t.capture(page, '08-mfa-totp-error');
  // A TOTP step works once: nextCode() uses the step after the one spent at enrolment.
  await answerTotp(t, page, authenticator, { trust: true });
  let claims = await backAtApp(t, page, req);
  assert(claims.acr === 'mfa' && amr(claims).includes('otp'), `after the code: acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`);
  const device = (await page.context().cookies()).find((c) => c.name === 'gh_device');
  assert(device && device.httpOnly, 'no HttpOnly gh_device cookie after "Trust this device"');

  req = authorizationRequest(fx.mfa, { prompt: 'login' });
  await open(page, req);
  await signIn(t, page, user);
  claims = await backAtApp(t, page, req);
  // The device vouches for the second factor: acr mfa, but amr says only the password was verified.
  assert(claims.acr === 'mfa' && JSON.stringify(claims.amr) === '["pwd"]',
    `prompt=login on a trusted device: acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`);
  if (process.env.E2E_VERBOSE) console.error(`  prompt=login claims: acr ${claims.acr} amr ${JSON.stringify(claims.amr)}`);
}

/** 3. A recovery code works once; the second use is refused with an error tied to the input. */
async function recovery_code_once(t, fx) {
  const { user, page, codes } = await enrolNewUser(t, fx.mfa, { label: 'recovery' });
  await signOut(t, page, fx.mfa.issuer);

  let req = authorizationRequest(fx.mfa);
  await open(page, req);
  await signIn(t, page, user);
  await answerRecovery(t, page, codes[3], { shot: '09-mfa-recovery' });
  const claims = await backAtApp(t, page, req);
  assert(claims.acr === 'mfa', `recovery code: acr ${claims.acr}, expected mfa`);
  const subjects = (await messagesTo(user.email)).map((m) => m.subject);
  assert(subjects.includes('A recovery code was used'), `no "recovery code used" notice; subjects: ${JSON.stringify(subjects)}`);

  await signOut(t, page, fx.mfa.issuer);
  req = authorizationRequest(fx.mfa);
  await open(page, req);
  await signIn(t, page, user);
  await answerRecovery(t, page, codes[3]);
  await expectHeading(page, 'Two-factor authentication');
  await expectFieldError(page, '#recovery_code', /not valid or was already used/);
  await t.capture(page, '10-mfa-recovery-error');
  assert(!t.app.callbackFor(req.state), 'a spent recovery code reached the application');
}

/** 4. A wrong password: one generic message, announced and tied to both inputs. */
async function wrong_password(t, fx) {
  const user = await createUser(fx.mfa.slug, 'wrongpw');
  const page = await t.page();
  await open(page, authorizationRequest(fx.mfa));
  await signIn(t, page, user, { password: 'not the password' });
  await expectHeading(page, 'Sign in');
  const message = await expectFieldError(page, '#password', /Wrong email or password/);
  await expectFieldError(page, '#login', /Wrong email or password/);
  assert((await page.locator('#login').inputValue()) === user.email, 'the email was not kept after the error');
  assert((await page.locator('#password').inputValue()) === '', 'the password field was refilled');
  await t.capture(page, '11-login-error');
  // The right password then moves on.
  await signIn(t, page, user);
  await expectHeading(page, "Confirm it's you");
  assert(message.length < 80, 'the message is not the short generic one');
}

/** 5. Dead ends: a sign-in page opened in another browser, and an authorization request for an unknown client. */
async function dead_ends(t, fx) {
  const first = await t.page();
  await open(first, authorizationRequest(fx.mfa));
  await expectHeading(first, 'Sign in');
  const loginUrl = first.url();
  assert(/[?&]tx=/.test(loginUrl), `the login page URL carries no transaction: ${loginUrl}`);

  // The same sign-in URL in another browser (no binding cookie): the friendly "expired" page.
  const other = await t.page();
  const res = await other.goto(loginUrl);
  await expectHeading(other, 'This sign-in has expired');
  assert(res.status() === 400, `expired page status ${res.status()}, expected 400`);
  await t.capture(other, '12-sign-in-expired');

  // An unknown client: an HTML error page, never a redirect to the (unverified) redirect URI.
  const bogus = authorizationRequest({ ...fx.mfa, client: { id: 'no-such-client' } });
  const res2 = await other.goto(bogus.url);
  assert(res2.status() >= 400, `unknown client: status ${res2.status()}`);
  assert(!t.app.callbackFor(bogus.state) && !other.url().startsWith('http://127.0.0.1:9/'), 'redirected for an unknown client');
  const h1 = await expectHeading(other, /.+/);
  assert(!/sign in$/i.test(h1), `unknown client got "${h1}"`);
  await t.capture(other, '13-authorize-error');
}

/** 6. With mfa-max-attempts 1, one wrong code ends the sign-in on "Too many attempts". */
async function too_many_attempts(t, fx) {
  const { user, authenticator } = await enrolNewUser(t, fx.strict, { label: 'strict' });
  const page = await t.page(); // another browser: no SSO session, no trusted device
  const req = authorizationRequest(fx.strict);
  await open(page, req);
  await signIn(t, page, user);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/mfa')),
    answerTotp(t, page, authenticator, { code: authenticator.wrongCode() }),
  ]);
  await expectHeading(page, 'Too many attempts');
  assert(response.status() === 429, `status ${response.status()}, expected 429`);
  await t.capture(page, '14-too-many-attempts');
  // The transaction is gone: going back to the code prompt finds the "expired" page.
  await page.goBack();
  await expectHeading(page, 'This sign-in has expired');
}

/** 7. MFA optional but offered: Skip the set-up, then the consent page of a third-party client. */
/**
 * Help page 001 as a new user meets it: "Create an account" on the sign-in page, a weak
 * password refused with the reason, "Check your inbox", the code from the mail, the MFA set-up
 * with Skip, and back at the application signed in.
 */
async function registration(t, fx) {
  const page = await t.page();
  const req = authorizationRequest(fx.register);
  await open(page, req);
  await expectHeading(page, 'Sign in');
  await clickAndWait(page, page.getByRole('link', { name: 'Create an account' }));
  await expectHeading(page, 'Create an account');
  const email = `newcomer-${process.pid}@example.com`;
  await page.locator('#email').fill(email);
  await page.locator('#name').fill('New Comer');
  await page.locator('#password').fill('password1');
  await clickAndWait(page, page.getByRole('button', { name: 'Create account' }));
  await expectFieldError(page, '#password', /leaked/);
  await t.capture(page, '40-register-weak-password');
  await page.locator('#password').fill('violet quarry sunlit 88');
  await clickAndWait(page, page.getByRole('button', { name: 'Create account' }));
  await expectHeading(page, 'Check your inbox');
  const { code } = await waitForCode(email, { subject: 'Confirm your email address' });
  await t.capture(page, '41-register-check-inbox');
  await page.locator('#code').fill(code);
  await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
  await expectHeading(page, 'Set up two-factor authentication');
  await clickAndWait(page, page.getByRole('button', { name: 'Skip' }));
  const claims = await backAtApp(t, page, req);
  assert(JSON.stringify(claims.amr) === '["pwd"]' && claims.email === email,
    `amr ${JSON.stringify(claims.amr)}, email ${claims.email}`);
}

/**
 * "Forgot your password?" for a user with an authenticator app: the code from the mail, then
 * the app's code before the new password, then the sign-in page, where the new password and
 * the app sign in.
 */
async function password_reset(t, fx) {
  const { user, authenticator } = await enrolNewUser(t, fx.strict, { label: 'reset' });
  const page = await t.page();
  let req = authorizationRequest(fx.strict);
  await open(page, req);
  await clickAndWait(page, page.getByRole('link', { name: 'Forgot your password?' }));
  await expectHeading(page, 'Reset your password');
  await t.capture(page, '42-reset-request');
  await page.locator('#email').fill(user.email);
  await clickAndWait(page, page.getByRole('button', { name: 'Send reset link' }));
  await expectHeading(page, 'Check your inbox');
  const { code } = await waitForCode(user.email, { subject: 'Reset your password' });
  await page.locator('#code').fill(code);
  await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
  await answerTotp(t, page, authenticator);
  await expectHeading(page, 'Choose a new password');
  await t.capture(page, '43-reset-new-password');
  const password = 'lantern orchard 42 drizzle';
  await page.locator('#password').fill(password);
  await clickAndWait(page, page.getByRole('button', { name: 'Set password' }));
  await expectHeading(page, 'Sign in');
  await t.capture(page, '44-reset-done');
  await signIn(t, page, user, { password });
  await answerTotp(t, page, authenticator);
  const claims = await backAtApp(t, page, req);
  assert(amr(claims).includes('otp'), `amr ${JSON.stringify(claims.amr)} lacks otp`);
}

async function optional_enrolment_and_consent(t, fx) {
  const user = await createUser(fx.optional.slug, 'optional');
  const page = await t.page();
  const req = authorizationRequest(fx.optional, { scope: 'openid email profile' });
  await open(page, req);
  await signIn(t, page, user);
  // The offer comes first, with its Skip (the email proof is asked only on Enable).
  await expectHeading(page, 'Set up two-factor authentication');
  await t.capture(page, '15-enrol-optional');
  await clickAndWait(page, page.getByRole('button', { name: 'Skip' }));
  await expectHeading(page, `Allow ${fx.optional.client.name} to access your account?`);
  await t.capture(page, '16-consent');
  await clickAndWait(page, page.getByRole('button', { name: 'Allow' }));
  const claims = await backAtApp(t, page, req);
  assert(claims.acr === 'pwd' && JSON.stringify(claims.amr) === '["pwd"]', `acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`);
}

/**
 * 8. Everything with JavaScript off, on a phone: enrolment with the email proof, the form_post
 * response's Continue button, sign-out, a recovery code, the app code with "Trust this
 * device", and a password-only sign-in on the trusted device.
 */
async function no_javascript(t, fx) {
  const page = await t.page({ profile: 'phone', javaScript: false });
  const { user, authenticator, codes, req } = await enrolNewUser(t, fx.mfa, {
    label: 'nojs', page, extra: { response_mode: 'form_post' },
  });
  await expectHeading(page, 'Continue to the application');
  await t.capture(page, '17-form-post-continue');
  await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
  await backAtApp(t, page, req);
  assert(t.app.callbackFor(req.state).method === 'POST', 'form_post response was not a POST');

  const again = async (answer, extra = {}) => {
    await signOut(t, page, fx.mfa.issuer);
    const r = authorizationRequest(fx.mfa, extra);
    await open(page, r);
    await signIn(t, page, user);
    await answer?.();
    return backAtApp(t, page, r);
  };
  await again(() => answerRecovery(t, page, codes[0]));
  await again(() => answerTotp(t, page, authenticator, { trust: true }));
  const claims = await again(null, { prompt: 'login' });
  assert(claims.acr === 'mfa' && !amr(claims).includes('otp'),
    `trusted device without JavaScript: acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`);
}

/**
 * 9. "Manage two-factor" at {issuer}/account, reached with the SSO session of a sign-in from the
 * application: add an authenticator app through the page (reading the bold key), note the
 * recovery codes, generate new ones, rename, then remove the method.
 */
async function manage_two_factor(t, fx) {
  const user = await createUser(fx.optional.slug, 'manage');
  const page = await t.page();
  const req = authorizationRequest(fx.optional, { scope: 'openid email profile' });
  await open(page, req);
  await signIn(t, page, user);
  await expectHeading(page, 'Set up two-factor authentication');
  await clickAndWait(page, page.getByRole('button', { name: 'Skip' }));
  await clickAndWait(page, page.getByRole('button', { name: 'Allow' }));
  await backAtApp(t, page, req);

  const account = `${fx.optional.issuer}/account`;
  await page.goto(account);
  await expectHeading(page, 'Two-factor authentication');
  await t.capture(page, '18-account-overview-off');
  await clickAndWait(page, page.getByRole('link', { name: 'Add two-factor' }));
  await expectHeading(page, 'Add two-factor');
  await t.capture(page, '19-account-choose-method');
  await clickAndWait(page, page.getByRole('link', { name: 'Authenticator app' }));
  // A first method comes after the mailbox proof, as at sign-in (the tenant's proof is email).
  await confirmEmail(t, page, user, { shot: '19b-account-confirm-email' });
  await expectHeading(page, 'Add an authenticator app');
  await t.capture(page, '20-account-add-totp');
  const grouped = ((await page.locator('strong.key#totp-key').textContent()) || '').trim();
  const authenticator = new Authenticator(grouped);
  await page.locator('#label').fill('Pixel 8');
  await page.locator('#code').fill(await authenticator.nextCode());
  await clickAndWait(page, page.getByRole('button', { name: 'Enable' }));
  await expectHeading(page, 'Note down your recovery codes');
  const first = await page.locator('#recovery-codes code').allTextContents();
  assert(first.length === 10, `${first.length} recovery codes shown`);
  await t.capture(page, '21-account-recovery-codes');
  await clickAndWait(page, page.getByRole('link', { name: 'Done' }));
  await expectHeading(page, 'Two-factor authentication');
  assert((await page.content()).includes('Pixel 8'), 'the new method is listed');
  await t.capture(page, '22-account-overview-on');

  await clickAndWait(page, page.getByRole('button', { name: 'Generate new recovery codes' }));
  await expectHeading(page, 'Note down your recovery codes');
  const fresh = await page.locator('#recovery-codes code').allTextContents();
  assert(fresh.length === 10 && !fresh.includes(first[0]), 'a new set replaced the old one');
  await clickAndWait(page, page.getByRole('link', { name: 'Done' }));

  await page.locator('input[name="label"]').first().fill('Work phone');
  await clickAndWait(page, page.getByRole('button', { name: 'Rename' }));
  assert((await page.content()).includes('Work phone'), 'renamed');
  await clickAndWait(page, page.getByRole('button', { name: 'Remove Work phone' }));
  await expectHeading(page, 'Two-factor authentication');
  assert((await page.content()).includes('The method was removed.'), 'removal confirmed');
  await t.capture(page, '23-account-after-remove');
  const mails = await messagesTo(user.email);
  for (const subject of ['Two-factor authentication was turned on', 'recovery codes', 'removed']) {
    assert(mails.some((m) => m.subject.toLowerCase().includes(subject.toLowerCase())), `a mail about "${subject}"`);
  }
}

/**
 * 10. The emailed one-time code as the only factor: a required sign-in with two methods on
 * offer proves the mailbox, chooses Email, sends and enters the set-up code, notes the recovery
 * codes; then another browser signs in with the code of the "Your sign-in code" mail.
 */
async function email_code_factor(t, fx) {
  const user = await createUser(fx.email.slug, 'emailcode');
  const page = await t.page();
  let req = authorizationRequest(fx.email);
  await open(page, req);
  await signIn(t, page, user);
  await confirmEmail(t, page, user);
  await chooseMethod(t, page, 'Email', { shot: '24-choose-method', expected: ['Authenticator app', 'Email'] });
  await enrolEmail(t, page, user, { shots: { before: '25-email-setup', sent: '26-email-setup-sent' } });
  await noteRecoveryCodes(t, page);
  let claims = await backAtApp(t, page, req);
  assert(claims.acr === 'mfa', `after the email set-up: acr ${claims.acr}, expected mfa`);
  assert(amr(claims).includes('otp'), `after the email set-up: amr ${JSON.stringify(claims.amr)} lacks otp`);

  // Another browser (no SSO session, no trusted device): the challenge mails a sign-in code.
  const other = await t.page();
  req = authorizationRequest(fx.email);
  await open(other, req);
  const seen = await mailNames(user.email);
  await signIn(t, other, user);
  await answerEmail(t, other, user, { shot: '27-mfa-email', seen });
  claims = await backAtApp(t, other, req);
  assert(claims.acr === 'mfa' && amr(claims).includes('otp'),
    `emailed sign-in code: acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`);
}

/**
 * Help page 001 with JavaScript off: sign in → "Confirm it's you" → the only method, Text
 * message → a mobile number → Send code → the texted code (from the file transport) → Enable →
 * recovery codes → the app (`amr` has `sms`); then a sign-in answered by a new text.
 */
async function sms_code_factor(t, fx) {
  const user = await createUser(fx.sms.slug, 'smscode');
  const number = '+12015550142';
  const page = await t.page({ javaScript: false });
  let req = authorizationRequest(fx.sms);
  await open(page, req);
  await signIn(t, page, user);
  await confirmEmail(t, page, user);
  await expectHeading(page, 'Set up text message codes');
  const field = page.getByLabel('Mobile number');
  assert((await field.getAttribute('type')) === 'tel', 'the number field is not type=tel');
  assert((await field.getAttribute('autocomplete')) === 'tel', 'the number field lacks autocomplete=tel');
  await t.capture(page, '28-sms-setup');
  await field.fill('(201) 555-0142');
  await clickAndWait(page, page.getByRole('button', { name: 'Send code' }));
  const { code } = await waitForText(number);
  const input = page.getByLabel('Verification code');
  assert((await input.getAttribute('autocomplete')) === 'one-time-code', 'no autocomplete=one-time-code');
  assert((await input.getAttribute('inputmode')) === 'numeric', 'no inputmode=numeric');
  await t.capture(page, '29-sms-setup-sent');
  await input.fill(code);
  await clickAndWait(page, page.getByRole('button', { name: 'Enable' }));
  await noteRecoveryCodes(t, page);
  let claims = await backAtApp(t, page, req);
  assert(claims.acr === 'mfa' && amr(claims).includes('sms'),
    `after the SMS set-up: acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}`);

  const other = await t.page({ javaScript: false });
  req = authorizationRequest(fx.sms);
  await open(other, req);
  const seen = await textNames(number);
  await signIn(t, other, user);
  await expectHeading(other, 'Two-factor authentication');
  const answer = other.getByLabel('We sent a code to •••• ••• 0142');
  assert((await answer.count()) === 1, 'no input labelled "We sent a code to •••• ••• 0142"');
  await t.capture(other, '30-mfa-sms');
  await answer.fill((await waitForText(number, { seen })).code);
  await clickAndWait(other, other.getByRole('button', { name: 'Verify' }));
  claims = await backAtApp(t, other, req);
  assert(JSON.stringify(amr(claims)) === JSON.stringify(['pwd', 'sms', 'otp', 'mfa']),
    `texted sign-in code: amr ${JSON.stringify(claims.amr)}`);
}

/**
 * `fetch` from the page the browser is on (so with that page's Origin, under the browser's
 * CORS rules): `{ status, json }`, or `{ blocked }` when the browser withheld the answer.
 */
function fetchFromPage(page, url, init) {
  return page.evaluate(async ({ url, init }) => {
    try {
      const res = await fetch(url, init);
      return { status: res.status, json: await res.json() };
    } catch (e) {
      return { blocked: String(e) };
    }
  }, { url, init });
}

/**
 * 11. A single-page application: after the code flow its own page redeems the code (PKCE, no
 * secret) and calls UserInfo with fetch, which CORS allows for its registered origin; the same
 * calls from a page on another origin are refused by the browser.
 */
async function browser_app_cors(t, fx) {
  const user = await createUser(fx.spa.slug, 'spa');
  const page = await t.page();
  const req = authorizationRequest(fx.spa);
  await open(page, req);
  await signIn(t, page, user);
  const code = await expectCallback(t, page, req);
  const token = await fetchFromPage(page, `${fx.spa.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI,
      code_verifier: req.verifier, client_id: fx.spa.client.id,
    }).toString(),
  });
  assert(token.status === 200 && token.json?.access_token, `the page could not redeem its code: ${JSON.stringify(token)}`);
  const bearer = { headers: { authorization: `Bearer ${token.json.access_token}` } };
  const info = await fetchFromPage(page, `${fx.spa.issuer}/userinfo`, bearer);
  assert(info.status === 200 && info.json?.sub === user.id, `UserInfo from the page: ${JSON.stringify(info)}`);

  // A page on another origin (http://localhost:9) with the same token: the browser refuses.
  await page.goto('http://localhost:9/elsewhere');
  const stolen = await fetchFromPage(page, `${fx.spa.issuer}/userinfo`, bearer);
  assert(stolen.blocked, `another origin read UserInfo: ${JSON.stringify(stolen)}`);
}

/**
 * 14. The admin console as a new admin: `gatehouse admin create`, /admin → the system tenant's
 * sign-in with the mailbox proof and an authenticator app (MFA is required there), the
 * tenants list, a tenant set to Required, a user found by exact email and their MFA reset
 * after a confirmation, the clients, audit log and adoption report, sign out.
 */
async function admin_console(t, fx) {
  const admin = { email: `root-${process.pid}@example.com`, password: 'console keeper 4471' };
  await cli(['admin', 'create', admin.email, '--password-stdin'], { input: `${admin.password}\n` });
  const user = await createUser(fx.console.slug, 'console');
  const page = await t.page();
  await page.goto(`${BASE_URL}/admin`, { waitUntil: 'load' });
  await signIn(t, page, admin, { shot: '40-console-sign-in' });
  await confirmEmail(t, page, admin);
  await enrolTotp(t, page, { label: 'Admin phone' });
  await noteRecoveryCodes(t, page);
  await expectHeading(page, 'Tenants');
  await t.capture(page, '41-console-tenants');

  await clickAndWait(page, page.getByRole('link', { name: 'Console Co' }));
  await expectHeading(page, 'Console Co');
  await t.capture(page, '42-console-tenant-settings');
  await page.getByLabel('Required').check();
  await clickAndWait(page, page.getByRole('button', { name: 'Save settings' }));
  assert((await page.content()).includes('Settings saved.'), 'the settings were saved');
  const saved = await cli(['tenant', 'get', fx.console.slug]);
  assert(saved.mfa_policy === 'required', `mfa_policy is ${saved.mfa_policy}`);

  await clickAndWait(page, page.getByRole('link', { name: 'Users', exact: true }));
  await page.getByLabel('Find a user').fill(user.email);
  await clickAndWait(page, page.getByRole('button', { name: 'Search' }));
  assert((await page.content()).includes('Exact match'), 'found by the exact email');
  await t.capture(page, '43-console-users');
  await clickAndWait(page, page.getByRole('link', { name: user.email }));
  await expectHeading(page, user.email);
  await t.capture(page, '44-console-user');
  await clickAndWait(page, page.getByRole('link', { name: 'Reset MFA' }));
  await expectHeading(page, `Reset MFA for ${user.email}?`);
  await t.capture(page, '45-console-confirm-reset');
  await clickAndWait(page, page.getByRole('button', { name: 'Reset MFA' }));
  assert((await page.content()).includes('MFA was reset.'), 'the reset was confirmed');

  await clickAndWait(page, page.getByRole('link', { name: 'Clients' }));
  await expectHeading(page, 'Clients');
  await t.capture(page, '46-console-clients');
  await clickAndWait(page, page.getByRole('link', { name: 'Audit log' }));
  await expectHeading(page, 'Audit log');
  assert((await page.content()).includes('mfa.reset'), 'the reset is in the audit log');
  await t.capture(page, '47-console-audit');
  await clickAndWait(page, page.getByRole('link', { name: 'MFA report' }));
  await expectHeading(page, 'MFA adoption');
  assert((await page.locator('svg.chart').count()) === 2, 'two server-drawn charts');
  await t.capture(page, '48-console-report');
  await clickAndWait(page, page.getByRole('button', { name: 'Sign out' }));
  await expectHeading(page, 'You have signed out of the admin console');
}

const SCENARIOS = [
  enrolment_with_email_proof,
  totp_challenge_and_trusted_device,
  recovery_code_once,
  wrong_password,
  dead_ends,
  too_many_attempts,
  optional_enrolment_and_consent,
  no_javascript,
  manage_two_factor,
  email_code_factor,
  sms_code_factor,
  browser_app_cors,
  registration,
  password_reset,
  admin_console,
  security_key_second_factor,
  passkey_phishing_resistant_and_passwordless,
].map((fn) => ({ name: fn.name.replace(/_/g, '-'), fn }));

// ---------------------------------------------------------------------------------------------
// Runner

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms); }),
  ]);
}

async function main() {
  const filters = process.argv.slice(2);
  const selected = SCENARIOS.filter((s) => !filters.length || filters.some((f) => s.name.includes(f)));
  // Screenshots of this run only: old PNGs (and failure shots) go first.
  await mkdir(SCREENSHOTS, { recursive: true });
  for (const f of await readdir(SCREENSHOTS)) if (f.endsWith('.png')) await rm(join(SCREENSHOTS, f));
  await rm(join(SCREENSHOTS, 'failures'), { recursive: true, force: true });

  const fx = await setup();
  const app = await startApp();
  const browser = await launch(app.port);
  let passed = 0;
  let failed = 0;
  try {
    for (const { name, fn } of selected) {
      const t = new Scenario(browser, app, name);
      let reason = null;
      try {
        await withTimeout(fn(t, fx), SCENARIO_TIMEOUT_MS, name);
      } catch (e) {
        reason = e instanceof AssertionError ? e.message : (e.stack || String(e)).split('\n').slice(0, 3).join(' | ');
        // The page it stopped on, for whoever reads the failure.
        const page = t.contexts.at(-1)?.pages().at(-1);
        if (page) {
          await mkdir(join(SCREENSHOTS, 'failures'), { recursive: true });
          await page.screenshot({ path: join(SCREENSHOTS, 'failures', `${name}.png`), fullPage: true }).catch(() => {});
        }
      }
      if (!reason && t.violations.length) {
        const rules = [...new Set(t.violations.map((v) => `${v.id} (${v.capture})`))];
        reason = `axe: ${t.violations.length} serious/critical violation(s): ${rules.join(', ')}`;
      }
      for (const v of t.violations) {
        console.error(`  axe ${v.impact} ${v.id} on ${v.capture}: ${v.help}\n    ${v.targets.join('\n    ')}`);
      }
      for (const d of t.defects) {
        console.error(d.reproduced
          ? `  known defect ${d.id}: ${d.detail} (see lib/known.mjs)`
          : `  fixed? ${d.id} no longer reproduces: remove it from lib/known.mjs`);
      }
      if (process.env.E2E_VERBOSE) {
        console.error(`  ${t.screenshots.length} screenshots, ${t.axeRuns} axe runs`);
        for (const v of t.minor) console.error(`  axe (${v.impact}, not failing) ${v.id} on ${v.capture}: ${v.help} [${v.targets.join(', ')}]`);
      }
      for (const v of t.known) {
        console.error(`  axe (known) ${v.impact} ${v.id} on ${v.capture}: ${v.help} [${v.targets.join(', ')}]`);
      }
      await t.close();
      if (reason) {
        failed += 1;
        console.log(`FAIL ${name}: ${reason}`);
      } else {
        passed += 1;
        console.log(`PASS ${name}`);
      }
    }
  } finally {
    await browser.close();
    await app.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${e.stack || e}`);
    process.exit(2);
  },
);
