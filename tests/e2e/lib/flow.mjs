// What a person does on each hosted page, written once and shared by the scenarios. Every step
// first checks it is on the page it expects (by its <h1>), optionally captures it (screenshots
// + axe, see Scenario.capture), then fills and submits the form with real clicks and typing.

import { readFile } from 'node:fs/promises';
import { Authenticator } from './totp.mjs';
import { mailNames, waitForCode } from './mail.mjs';
import { checkResponse } from './oidc.mjs';

export class AssertionError extends Error {}

export function assert(cond, message) {
  if (!cond) throw new AssertionError(message);
}

/** The page's <h1> must match `expected` (string: exact, after trimming; or RegExp). */
export async function expectHeading(page, expected) {
  const h1 = await page.locator('h1').first().textContent({ timeout: 5000 }).catch(() => null);
  const text = (h1 || '').trim().replace(/\s+/g, ' ');
  const ok = expected instanceof RegExp ? expected.test(text) : text === expected;
  assert(ok, `expected the page "${expected}", got "${text || '(no h1)'}" at ${page.url()}`);
  return text;
}

/**
 * Clicks `locator` (a submit button or link) and waits for the page it leads to, as a person
 * waits for the next page: one helper, so the waiting strategy lives in one place.
 */
export async function clickAndWait(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

/** Captures the current page when `name` is given (a scenario may walk a page without shots). */
async function maybeCapture(t, page, name) {
  if (name) await t.capture(page, name);
}

/**
 * Checks that a form error is announced and tied to its input: the message element has
 * role=alert and an id, and the input lists that id in aria-describedby and is aria-invalid.
 * Returns the message text.
 */
export async function expectFieldError(page, inputSelector, pattern) {
  const input = page.locator(inputSelector);
  const describedBy = (await input.getAttribute('aria-describedby')) || '';
  const ids = describedBy.split(/\s+/).filter(Boolean);
  const errorEl = page.locator('.error[role="alert"]');
  assert((await errorEl.count()) === 1, `no error message (.error[role=alert]) on ${page.url()}`);
  const errorId = await errorEl.getAttribute('id');
  const text = ((await errorEl.textContent()) || '').trim();
  assert(pattern.test(text), `error message "${text}" does not match ${pattern}`);
  assert(errorId && ids.includes(errorId),
    `${inputSelector} aria-describedby="${describedBy}" does not reference the error #${errorId}`);
  assert((await input.getAttribute('aria-invalid')) === 'true', `${inputSelector} is not aria-invalid`);
  return text;
}

/** Starts the client's authorization request in `page`. */
export async function open(page, req) {
  await page.goto(req.url, { waitUntil: 'load' });
}

/** The sign-in page: email + password, then "Sign in". */
export async function signIn(t, page, user, { shot, password = user.password } = {}) {
  await expectHeading(page, 'Sign in');
  await maybeCapture(t, page, shot);
  await page.locator('#login').fill(user.email);
  await page.locator('#password').fill(password);
  await clickAndWait(page, page.getByRole('button', { name: 'Sign in', exact: true }));
}

/** "Confirm it's you": the 6-digit code from the newest verification mail to the user. */
export async function confirmEmail(t, page, user, { shot, seen } = {}) {
  await expectHeading(page, "Confirm it's you");
  const { code } = await waitForCode(user.email, { seen });
  await maybeCapture(t, page, shot);
  await page.locator('#code').fill(code);
  await clickAndWait(page, page.getByRole('button', { name: 'Continue' }));
}

/**
 * "Set up two-factor authentication": reads the key from the bold key element, names the
 * device, types the current TOTP and enables. Returns the person's Authenticator.
 */
export async function enrolTotp(t, page, { shot, label = 'E2E phone' } = {}) {
  await expectHeading(page, 'Set up two-factor authentication');
  const key = page.locator('strong.key#totp-key');
  assert((await key.count()) === 1, 'no <strong class="key" id="totp-key"> on the set-up page');
  const grouped = ((await key.textContent()) || '').trim();
  assert(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/.test(grouped), `the key "${grouped}" is not base32 grouped by four`);
  if (page.context().e2e.javaScript) {
    // (evaluate() needs scripts; with them off the <strong> element itself has to do.)
    const weight = await key.evaluate((el) => getComputedStyle(el).fontWeight);
    assert(Number(weight) >= 600, `the key is not shown in bold (font-weight ${weight})`);
  }
  const qr = page.locator('img.qr');
  assert((await qr.getAttribute('alt'))?.length > 0, 'the QR code has no alt text');
  await maybeCapture(t, page, shot);
  const authenticator = new Authenticator(grouped);
  await page.locator('#label').fill(label);
  await page.locator('#code').fill(await authenticator.nextCode());
  await clickAndWait(page, page.getByRole('button', { name: 'Enable' }));
  return authenticator;
}

/**
 * The method chooser of a set-up ("Select a method of authentication:"): checks every method in
 * `expected` is offered as a link, then follows the one named `method`.
 */
export async function chooseMethod(t, page, method, { shot, heading = 'Set up two-factor authentication', expected = [method] } = {}) {
  await expectHeading(page, heading);
  assert((await page.getByText('Select a method of authentication:').count()) === 1,
    'the chooser does not say "Select a method of authentication:"');
  for (const name of expected) {
    assert((await page.getByRole('link', { name, exact: true }).count()) === 1, `the chooser offers no "${name}" link`);
  }
  await maybeCapture(t, page, shot);
  await clickAndWait(page, page.getByRole('link', { name: method, exact: true }));
}

/**
 * "Set up email codes": the address is prefilled with the account's email; "Send a one-time use
 * code", then the code of the new "Your verification code" mail in "Verification code", then
 * Enable. `shots.before` / `shots.sent` capture the page before and after Send.
 */
export async function enrolEmail(t, page, user, { shots = {} } = {}) {
  await expectHeading(page, 'Set up email codes');
  const address = page.getByLabel('Email address');
  assert((await address.inputValue()) === user.email, `the address is "${await address.inputValue()}", not the account's email`);
  assert((await page.getByLabel('Verification code').count()) === 0, 'the code field is shown before a code was sent');
  await maybeCapture(t, page, shots.before);
  // The mailbox proof sent a "Your verification code" too: only a message written after Send counts.
  const seen = await mailNames(user.email);
  await clickAndWait(page, page.getByRole('button', { name: 'Send a one-time use code' }));
  await expectHeading(page, 'Set up email codes');
  const notice = ((await page.locator('.notice[role="status"]').textContent().catch(() => '')) || '').trim();
  assert(/We sent a code/.test(notice), `no "We sent a code" notice after Send (got "${notice}")`);
  const { code } = await waitForCode(user.email, { seen, subject: 'Your verification code' });
  const input = page.getByLabel('Verification code');
  assert((await input.count()) === 1, 'no input labelled "Verification code" after Send');
  await maybeCapture(t, page, shots.sent);
  await input.fill(code);
  await clickAndWait(page, page.getByRole('button', { name: 'Enable' }));
}

/**
 * "Two-factor authentication" with the email factor: the code input is labelled "We sent a code
 * to x•••@domain", Resend is offered; the code comes from the newest "Your sign-in code" mail
 * not in `seen` (the names before this sign-in).
 */
export async function answerEmail(t, page, user, { shot, seen = new Set() } = {}) {
  await expectHeading(page, 'Two-factor authentication');
  const [local, domain] = user.email.split('@');
  const input = page.getByLabel(`We sent a code to ${local[0]}•••@${domain}`);
  assert((await input.count()) === 1, `no input labelled "We sent a code to ${local[0]}•••@${domain}"`);
  assert((await page.getByRole('button', { name: 'Resend' }).count()) === 1, 'no Resend button for an emailed code');
  assert((await page.getByRole('link', { name: 'Use a recovery code' }).count()) === 1, 'no "Use a recovery code" link');
  const { code } = await waitForCode(user.email, { seen, subject: 'Your sign-in code' });
  await maybeCapture(t, page, shot);
  await input.fill(code);
  await clickAndWait(page, page.getByRole('button', { name: 'Verify' }));
}

/**
 * "Note down your recovery codes": `count` codes, a Download link whose file holds the same
 * codes, then Done. Returns the codes.
 */
export async function noteRecoveryCodes(t, page, { shot, count = 10 } = {}) {
  await expectHeading(page, 'Note down your recovery codes');
  const codes = (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
  assert(codes.length === count, `expected ${count} recovery codes, got ${codes.length}`);
  assert(codes.every((c) => /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/i.test(c)), `odd recovery codes: ${codes.join(', ')}`);
  assert(new Set(codes).size === count, 'recovery codes repeat');
  await maybeCapture(t, page, shot);
  // The Download link: a real download (an attachment), whose text holds every code.
  const link = page.getByRole('link', { name: 'Download' });
  assert((await link.getAttribute('download')) === 'recovery-codes.txt', 'Download link lacks download="recovery-codes.txt"');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const file = await readFile(await download.path(), 'utf8');
  const missing = codes.filter((c) => !file.includes(c));
  assert(missing.length === 0, `the downloaded file lacks ${missing.length} of the codes`);
  // The Copy button is progressive enhancement: shown only when scripts run.
  const copyVisible = await page.locator('#copy-codes').isVisible();
  if (page.context().e2e.javaScript) {
    assert(copyVisible, 'the Copy button is hidden with JavaScript on');
  } else {
    assert(!copyVisible, 'the Copy button is visible with JavaScript off');
  }
  await clickAndWait(page, page.getByRole('button', { name: 'Done' }));
  return codes;
}

/** "Two-factor authentication" with the app: a code, optionally "Trust this device". */
export async function answerTotp(t, page, authenticator, { shot, trust = false, code } = {}) {
  await expectHeading(page, 'Two-factor authentication');
  const input = page.getByLabel('Enter the code from your authenticator app');
  assert((await input.count()) === 1, 'no input labelled "Enter the code from your authenticator app"');
  await maybeCapture(t, page, shot);
  await input.fill(code ?? (await authenticator.nextCode()));
  if (trust) await page.getByLabel(/Trust this device/).check();
  await clickAndWait(page, page.getByRole('button', { name: 'Verify' }));
}

/** From the code prompt, "Use a recovery code", then enter `code`. */
export async function answerRecovery(t, page, code, { shot } = {}) {
  await expectHeading(page, 'Two-factor authentication');
  await clickAndWait(page, page.getByRole('link', { name: 'Use a recovery code' }));
  const input = page.getByLabel('Recovery code');
  assert((await input.count()) === 1, 'no input labelled "Recovery code"');
  await maybeCapture(t, page, shot);
  await input.fill(code);
  await clickAndWait(page, page.getByRole('button', { name: 'Verify' }));
}

/**
 * The browser must now be at the client's redirect URI, and the application must have received
 * the response to `req`: returns the checked authorization code.
 */
export async function expectCallback(t, page, req) {
  await page.waitForURL((u) => u.href.startsWith('http://127.0.0.1:9/cb'), { timeout: 10_000 }).catch(async () => {
    const h1 = await page.locator('h1').first().textContent().catch(() => '');
    throw new AssertionError(`expected the redirect to the application, still on "${(h1 || '').trim()}" at ${page.url()}`);
  });
  const callback = t.app.callbackFor(req.state);
  assert(callback, 'the browser reached the redirect URI but the application got no response for this request');
  return checkResponse(req, callback.params);
}

/** RP-initiated logout without an id_token_hint: confirm, then the "signed out" page. */
export async function signOut(t, page, issuer, { confirmShot, doneShot } = {}) {
  await page.goto(`${issuer}/logout`);
  await expectHeading(page, 'Sign out?');
  await maybeCapture(t, page, confirmShot);
  await clickAndWait(page, page.getByRole('button', { name: 'Sign out' }));
  await expectHeading(page, 'You have signed out');
  await maybeCapture(t, page, doneShot);
  const cookies = await page.context().cookies();
  assert(!cookies.some((c) => c.name === 'gh_session'), 'the gh_session cookie survived sign-out');
}
