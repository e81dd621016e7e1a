// RP-Initiated Logout: modules of the official `oidcc-rp-initiated-logout-certification-test-plan`
// (static client with post_logout_redirect_uri registered). Each signs in, then sends the browser
// to the end_session_endpoint built by openid-client (`buildEndSessionUrl`).

import { POST_LOGOUT_REDIRECT_URI } from '../lib/gatehouse.mjs';
import { check, client, pageText } from '../lib/rp.mjs';
import { parseForms, pageKind } from '../lib/browser.mjs';

/** Signs in, then visits the end-session URL with `params`; returns the browser's outcome. */
async function logout(t, build) {
  const browser = t.newBrowser();
  const signedIn = await t.codeFlow({ browser });
  const params = build(signedIn);
  const url = client.buildEndSessionUrl(signedIn.flow.config, params);
  const res = await browser.navigate(url.href);
  return { browser, signedIn, res };
}

/** After a successful logout, prompt=none must fail with an error that needs a UI. */
async function expectSignedOut(t, browser) {
  const flow = await t.startFlow({ browser, params: { prompt: 'none' }, credentials: null });
  check(flow.callback, 'prompt=none after logout did not redirect back');
  const r = await t.expectAuthorizationError(flow);
  check(['login_required', 'interaction_required'].includes(r.error), `prompt=none after logout gave ${r.error ?? 'a code'}, expected login_required`);
}

/** The OP must not redirect; it shows an error or asks the user (the suite wants a screenshot). */
function expectNoRedirect(res, what) {
  check(!res.leftTo, `the OP redirected to ${res.leftTo} despite ${what}`);
  const kind = pageKind(res);
  const confirm = parseForms(res.body).length > 0 && res.status === 200;
  check(res.status >= 400 || confirm, `expected an error page or a confirmation for ${what}, got HTTP ${res.status} (${kind}): ${pageText(res.body).slice(0, 100)}`);
}

/** OIDCCRpInitiatedLogout: redirect to the registered URI with state and nothing else; session gone. */
export async function oidcc_rp_initiated_logout(t) {
  const state = client.randomState();
  const { browser, res } = await logout(t, (s) => ({ id_token_hint: s.tokens.id_token, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state }));
  check(res.leftTo, `the OP did not redirect to the post_logout_redirect_uri (HTTP ${res.status}: ${pageText(res.body).slice(0, 100)})`);
  const back = new URL(res.leftTo);
  check(`${back.origin}${back.pathname}` === POST_LOGOUT_REDIRECT_URI, `redirected to ${res.leftTo}`);
  check(back.searchParams.get('state') === state, 'state was not returned unchanged (CheckPostLogoutState)');
  const extra = [...back.searchParams.keys()].filter((k) => k !== 'state');
  if (extra.length) t.warn(`unexpected parameters in the post-logout redirect: ${extra.join(', ')}`);
  await expectSignedOut(t, browser);
}

/** OIDCCRpInitiatedLogoutNoState: without state the redirect carries no state. */
export async function oidcc_rp_initiated_logout_no_state(t) {
  const { browser, res } = await logout(t, (s) => ({ id_token_hint: s.tokens.id_token, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI }));
  check(res.leftTo, 'the OP did not redirect to the post_logout_redirect_uri');
  check(!new URL(res.leftTo).searchParams.has('state'), 'a state came back that was never sent');
  await expectSignedOut(t, browser);
}

/** OIDCCRpInitiatedLogoutBadLogoutRedirectUri: an unregistered post_logout_redirect_uri is never used. */
export async function oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(t) {
  const { res } = await logout(t, (s) => ({ id_token_hint: s.tokens.id_token, post_logout_redirect_uri: `${POST_LOGOUT_REDIRECT_URI}/not-registered`, state: client.randomState() }));
  expectNoRedirect(res, 'an unregistered post_logout_redirect_uri');
}

/** OIDCCRpInitiatedLogoutQueryAddedToLogoutRedirectUri: a query added to the registered URI is a different URI. */
export async function oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(t) {
  const { res } = await logout(t, (s) => ({ id_token_hint: s.tokens.id_token, post_logout_redirect_uri: `${POST_LOGOUT_REDIRECT_URI}?foo=bar`, state: client.randomState() }));
  expectNoRedirect(res, 'a post_logout_redirect_uri with an added query');
}

/** OIDCCRpInitiatedLogoutModifiedIdTokenHint: the hint re-encoded with alg none must not be trusted. */
export async function oidcc_rp_initiated_logout_modified_id_token_hint(t) {
  const { res } = await logout(t, (s) => {
    const [, payload] = s.tokens.id_token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
    return { id_token_hint: none, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: client.randomState() };
  });
  expectNoRedirect(res, 'an alg=none id_token_hint');
}

/** OIDCCRpInitiatedLogoutNoIdTokenHint: without a hint the OP must not redirect at once. */
export async function oidcc_rp_initiated_logout_no_id_token_hint(t) {
  const { res } = await logout(t, () => ({ post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: client.randomState() }));
  expectNoRedirect(res, 'no id_token_hint');
}
