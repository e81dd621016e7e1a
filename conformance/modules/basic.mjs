// Basic OP: the modules of the official `oidcc-basic-certification-test-plan`
// (server_metadata=discovery, client_registration=static_client, response_type=code), in the
// plan's order, each replaying the conditions of the suite's module of the same name. Where the
// suite asks a person for a screenshot (an error page, a second login page) the runner checks the
// page it landed on instead.

import { ADDRESS, REDIRECT_URI } from '../lib/gatehouse.mjs';
import {
  Fail, Skip, check, checkErrorText, client, decodeJwt, describe, pageText, randomString, sleep,
} from '../lib/rp.mjs';

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** OIDC Core §5.1 claim types (ValidateUserInfoStandardClaims). */
const STANDARD_CLAIM_TYPES = {
  sub: 'string', name: 'string', given_name: 'string', family_name: 'string', middle_name: 'string',
  nickname: 'string', preferred_username: 'string', profile: 'string', picture: 'string', website: 'string',
  email: 'string', email_verified: 'boolean', gender: 'string', birthdate: 'string', zoneinfo: 'string',
  locale: 'string', phone_number: 'string', phone_number_verified: 'boolean', address: 'object',
  updated_at: 'number',
};

/** The claims each scope asks for (OIDC Core §5.4). */
const SCOPE_CLAIMS = {
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** AbstractOIDCCUserInfoTest / AbstractOIDCCScopesServerTest: userinfo response checks. */
function validateUserInfo(t, userinfo, claims, scope) {
  check(typeof userinfo.sub === 'string', 'userinfo has no sub (OIDCC-5.3.2)');
  check(userinfo.sub === claims.sub, `userinfo sub ${userinfo.sub} differs from the ID token sub ${claims.sub}`);
  for (const [k, type] of Object.entries(STANDARD_CLAIM_TYPES)) {
    if (userinfo[k] === undefined) continue;
    const actual = Array.isArray(userinfo[k]) ? 'array' : typeof userinfo[k];
    check(actual === type, `userinfo ${k} is a ${actual}, OIDC Core §5.1 says ${type}`);
  }
  if (userinfo.updated_at !== undefined) check(Number.isInteger(userinfo.updated_at), 'updated_at is not whole seconds');
  if (userinfo.birthdate !== undefined) check(/^(\d{4}|0000)(-\d{2}-\d{2})?$/.test(userinfo.birthdate), 'birthdate is not YYYY[-MM-DD]');
  // VerifyScopesReturnedInUserInfoClaims (WARNING)
  for (const s of (scope || '').split(' ')) {
    const wanted = SCOPE_CLAIMS[s];
    if (wanted && !wanted.some((c) => userinfo[c] !== undefined)) {
      t.warn(`scope ${s} was granted but userinfo returned none of its claims`);
    }
  }
}

/** A normal code flow, then userinfo with openid-client (GET, Authorization header). */
async function flowWithUserInfo(t, opts = {}) {
  const r = await t.codeFlow(opts);
  const userinfo = await client.fetchUserInfo(r.flow.config, r.tokens.access_token, r.claims.sub);
  validateUserInfo(t, userinfo, r.claims, opts.scope || 'openid');
  return { ...r, userinfo };
}

/** Skips a scope module when discovery does not list the scopes (OIDCCCheckScopesSupportedContainScopeTest). */
function requireScopes(t, scope) {
  const missing = scope.split(' ').filter((s) => !(t.discovery.scopes_supported || []).includes(s));
  if (missing.length) {
    throw new Skip(`scopes_supported does not list ${missing.join(', ')}, so the official suite skips this module`);
  }
}

/** Sub and auth_time (if present) are the same in both ID tokens (AbstractOIDCCSameAuthTwiceServerTest). */
function sameAuthentication(first, second) {
  check(first.sub === second.sub, `sub changed between the two authorizations (${first.sub} → ${second.sub})`);
  if (first.auth_time !== undefined && second.auth_time !== undefined) {
    check(first.auth_time === second.auth_time, `auth_time changed (${first.auth_time} → ${second.auth_time}) although no new authentication happened`);
  }
}

/** The second authorization showed the login page again (the suite's "screenshot of the second login"). */
function sawLogin(flow, why) {
  check(flow.pages.some((p) => p.kind === 'login'), `${why}: the OP did not show the login page again (pages: ${flow.pages.map((p) => p.kind).join(', ') || 'none'})`);
}

/** The OP stayed on an error page and did not redirect (ExpectRedirectUriErrorPage and friends). */
function stayedOnErrorPage(flow, what) {
  check(!flow.callback, `the OP redirected to ${flow.callback} despite ${what}`);
  const last = flow.pages[flow.pages.length - 1];
  check(last && last.status >= 400, `expected an error page for ${what}, got HTTP ${last?.status}`);
  return pageText(last.body);
}

// ---------------------------------------------------------------------------------------------
// Modules (plan order)

/** OIDCCServerTest: the code flow with client_secret_basic, ID token checks, userinfo. */
export async function oidcc_server(t) {
  const { claims, tokens, flow } = await t.codeFlow();
  check(tokens.token_type?.toLowerCase() === 'bearer', `token_type is ${tokens.token_type}`);
  check(claims.nonce === flow.nonce, 'nonce does not match');
  if (tokens.expires_in !== undefined) check(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0, 'expires_in is not a positive integer');
  const res = t.tokenResponses.at(-1);
  check(/no-store/.test(res.headers.get('cache-control') || ''), 'token response lacks Cache-Control: no-store (RFC 6749 §5.1)');
  // requestProtectedResource: the resource is the userinfo endpoint
  await client.fetchUserInfo(flow.config, tokens.access_token, claims.sub);
}

/** OIDCCResponseTypeMissing: an error page, or an error redirect with invalid_request / unsupported_response_type. */
export async function oidcc_response_type_missing(t) {
  const flow = await t.startFlow({ mutate: (u) => u.searchParams.delete('response_type') });
  const r = await t.expectAuthorizationError(flow);
  if (r.page) {
    check(r.page.status >= 400, `expected an error page, got HTTP ${r.page.status}`);
    return;
  }
  check(['invalid_request', 'unsupported_response_type'].includes(r.error), `error is ${r.error}, expected invalid_request or unsupported_response_type`);
}

/**
 * OIDCCIdTokenSignature replayed with static clients: the official module is dynamic-registration
 * only; its conditions (EnsureIdTokenContainsKid, the alg, the signature by that kid) are checked
 * for a client of each alg Gatehouse offers.
 */
function idTokenSignature(clientName, alg) {
  return async function (t) {
    const c = t.clients[clientName];
    const { tokens } = await t.codeFlow({ c });
    const { header } = decodeJwt(tokens.id_token);
    check(header.alg === alg, `ID token alg is ${header.alg}, expected ${alg}`);
    // openid-client already verified the signature (enableNonRepudiationChecks); verify it once
    // more here with node's crypto against the key named by kid, independently of the library.
    const key = (await t.jwks()).keys.find((k) => k.kid === header.kid);
    const { createPublicKey, verify } = await import('node:crypto');
    const [h, p, s] = tokens.id_token.split('.');
    const data = Buffer.from(`${h}.${p}`);
    const sig = Buffer.from(s, 'base64url');
    const pub = createPublicKey({ key, format: 'jwk' });
    const ok = alg === 'EdDSA'
      ? verify(null, data, pub, sig)
      : verify('sha256', data, alg === 'ES256' ? { key: pub, dsaEncoding: 'ieee-p1363' } : pub, sig);
    check(ok, `the ${alg} signature does not verify with JWKS key ${header.kid}`);
  };
}
export const oidcc_idtoken_signature = idTokenSignature('client', 'RS256');
export const oidcc_idtoken_signature_es256 = idTokenSignature('es256', 'ES256');
export const oidcc_idtoken_signature_eddsa = idTokenSignature('eddsa', 'EdDSA');

/** OIDCCIdTokenUnsigned: alg none; skipped unless discovery lists it (and dynamic-only). */
export async function oidcc_idtoken_unsigned(t) {
  if (!t.discovery.id_token_signing_alg_values_supported.includes('none')) {
    throw new Skip('id_token_signing_alg_values_supported does not list "none" (not required; the module is also dynamic-registration only)');
  }
  throw new Fail('"none" is advertised for ID tokens');
}

/** OIDCCUserInfoGet */
export async function oidcc_userinfo_get(t) {
  await flowWithUserInfo(t);
}

/** OIDCCUserInfoPostHeader: POST with the token in the Authorization header. */
export async function oidcc_userinfo_post_header(t) {
  const { flow, tokens, claims } = await t.codeFlow();
  const res = await client.fetchProtectedResource(flow.config, tokens.access_token, new URL(t.discovery.userinfo_endpoint), 'POST');
  check(res.status === 200, `userinfo POST answered HTTP ${res.status}`);
  validateUserInfo(t, await res.json(), claims, 'openid');
}

/** OIDCCUserInfoPostBody: POST with access_token in the form body (optional: WARNING if refused). */
export async function oidcc_userinfo_post_body(t) {
  const { tokens, claims } = await t.codeFlow();
  // openid-client always sends the header, so this one request is built by hand (RFC 6750 §2.2).
  const res = await fetch(t.discovery.userinfo_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ access_token: tokens.access_token }),
  });
  if (res.status < 200 || res.status > 299) {
    t.warn(`the access token in the body is not accepted (HTTP ${res.status}); allowed by the standards`);
    return;
  }
  validateUserInfo(t, await res.json(), claims, 'openid');
}

/** OIDCCEnsureRequestWithoutNonceSucceedsForCodeFlow: no nonce sent, none returned. */
export async function oidcc_ensure_request_without_nonce_succeeds_for_code_flow(t) {
  // openid-client with no expectedNonce rejects an ID token that carries a nonce.
  const { claims } = await t.codeFlow({ nonce: false });
  check(claims.nonce === undefined, 'the ID token carries a nonce that was never sent');
}

/**
 * The fixture user has every standard claim (lib/gatehouse.mjs), so each claim of each scope
 * asked for must come back, in userinfo and (Gatehouse puts them there too) the ID token —
 * stricter than the suite's warning, which only wants one claim per scope.
 */
function requireScopeClaims(r, scope) {
  for (const s of scope.split(' ')) {
    for (const c of SCOPE_CLAIMS[s] || []) {
      check(r.userinfo[c] !== undefined, `scope ${s}: userinfo has no ${c}`);
      check(r.claims[c] !== undefined, `scope ${s}: the ID token has no ${c}`);
    }
  }
  if (scope.split(' ').includes('address')) {
    for (const [k, v] of Object.entries(ADDRESS)) {
      check(r.userinfo.address[k] === v, `userinfo address.${k} is ${JSON.stringify(r.userinfo.address[k])}, expected ${JSON.stringify(v)}`);
    }
  }
  if (scope.split(' ').includes('profile')) {
    check(r.userinfo.updated_at === r.claims.updated_at, 'updated_at differs between the ID token and userinfo');
  }
}

function scopeModule(scope) {
  return async function (t) {
    requireScopes(t, scope);
    requireScopeClaims(await flowWithUserInfo(t, { scope }), scope);
  };
}
export const oidcc_scope_profile = scopeModule('openid profile');
export const oidcc_scope_email = scopeModule('openid email');
export const oidcc_scope_address = scopeModule('openid address');
export const oidcc_scope_phone = scopeModule('openid phone');

/**
 * OIDCCScopeAll: the suite skips it when any of address/email/phone/profile is missing from
 * scopes_supported. The request is still made, because an OP must not fail on a scope it does
 * not know (OIDC Core §3.1.2.1): a failure there is a real FAIL.
 */
export async function oidcc_scope_all(t) {
  const scope = 'openid address email phone profile';
  const missing = scope.split(' ').filter((s) => !(t.discovery.scopes_supported || []).includes(s));
  const r = await flowWithUserInfo(t, { scope });
  if (missing.length) {
    throw new Skip(`scopes_supported does not list ${missing.join(', ')}, so the official suite skips this module (the request with all five scopes was still made and succeeded)`);
  }
  requireScopeClaims(r, scope);
}

/** OIDCEnsureOtherScopeOrderSucceeds: the same scopes in another order. */
export async function oidcc_ensure_other_scope_order_succeeds(t) {
  await flowWithUserInfo(t, { scope: 'email openid' });
  await flowWithUserInfo(t, { scope: 'openid email' });
}

/** OIDCCDisplayPage / OIDCCDisplayPopup: `display` may be ignored, the request must succeed. */
export async function oidcc_display_page(t) {
  await t.codeFlow({ params: { display: 'page' } });
}
export async function oidcc_display_popup(t) {
  await t.codeFlow({ params: { display: 'popup' } });
}

/** OIDCCPromptLogin: second request with prompt=login shows the login page; auth_time differs. */
export async function oidcc_prompt_login(t) {
  const browser = t.newBrowser();
  const first = await t.codeFlow({ browser });
  // A person takes more than a second to sign in again; auth_time has one-second resolution.
  const second = await t.codeFlow({ browser, params: { prompt: 'login' }, loginDelayMs: 1100 });
  sawLogin(second.flow, 'prompt=login');
  check(first.claims.sub === second.claims.sub, 'sub changed');
  if (first.claims.auth_time !== undefined && second.claims.auth_time !== undefined) {
    check(second.claims.auth_time !== first.claims.auth_time, 'auth_time did not change after a forced re-authentication (CheckIdTokenAuthTimeClaimsDifferIfPresent)');
  }
}

/** OIDCCPromptNoneNotLoggedIn: login_required (or another "needs a UI" error), 128-char state intact. */
export async function oidcc_prompt_none_not_logged_in(t) {
  const flow = await t.startFlow({ params: { prompt: 'none' }, stateLength: 128, credentials: null });
  check(flow.callback, `prompt=none must redirect back with an error, the OP showed a ${flow.pages.at(-1)?.kind} page`);
  // openid-client checks iss and that the 128-character state came back unchanged.
  const r = await t.expectAuthorizationError(flow);
  const ui = ['login_required', 'interaction_required', 'consent_required', 'account_selection_required'];
  check(ui.includes(r.error), `error is ${r.error}, expected one of ${ui.join(', ')} (OIDCC-3.1.2.6)`);
}

/** OIDCCPromptNoneLoggedIn: signed in, prompt=none answers at once with the same authentication. */
export async function oidcc_prompt_none_logged_in(t) {
  const browser = t.newBrowser();
  const first = await t.codeFlow({ browser });
  const second = await t.codeFlow({ browser, params: { prompt: 'none' }, credentials: null });
  check(second.flow.pages.length === 0, `prompt=none showed pages: ${second.flow.pages.map((p) => p.kind)}`);
  sameAuthentication(first.claims, second.claims);
}

/** OIDCCMaxAge1: wait 2 s, max_age=1 forces a new login; auth_time present, later and recent. */
export async function oidcc_max_age_1(t) {
  const browser = t.newBrowser();
  const first = await t.codeFlow({ browser });
  await sleep(2000);
  const second = await t.codeFlow({ browser, params: { max_age: '1' } }, { maxAge: 1 });
  sawLogin(second.flow, 'max_age=1 after 2 s');
  const a1 = first.claims.auth_time;
  const a2 = second.claims.auth_time;
  check(a2 !== undefined, 'no auth_time although max_age was requested (CheckIdTokenAuthTimeClaimPresentDueToMaxAge)');
  if (a1 !== undefined) check(a2 > a1, `auth_time did not move forward (${a1} → ${a2}) (CheckSecondIdTokenAuthTimeIsLaterIfPresent)`);
  const now = Math.floor(Date.now() / 1000);
  check(Math.abs(now - a2) <= 60, `auth_time ${a2} is not recent (now ${now}) (CheckIdTokenAuthTimeIsRecentIfPresent)`);
}

/** OIDCCMaxAge10000: a recent login satisfies max_age=10000; same authentication, auth_time present. */
export async function oidcc_max_age_10000(t) {
  const browser = t.newBrowser();
  const first = await t.codeFlow({ browser });
  const second = await t.codeFlow({ browser, params: { max_age: '10000' }, credentials: null }, { maxAge: 10000 });
  check(second.claims.auth_time !== undefined, 'no auth_time although max_age was requested');
  sameAuthentication(first.claims, second.claims);
}

/** OIDCCEnsureRequestWithUnknownParameterSucceeds: RFC 6749 §3.1 — ignore unknown parameters. */
export async function oidcc_ensure_request_with_unknown_parameter_succeeds(t) {
  await t.codeFlow({ params: { extra_param: randomString(20) } });
}

/** OIDCCIdTokenHint: prompt=none with the first ID token as id_token_hint returns at once. */
export async function oidcc_id_token_hint(t) {
  const browser = t.newBrowser();
  const first = await t.codeFlow({ browser });
  const second = await t.codeFlow({
    browser,
    params: { prompt: 'none', id_token_hint: first.tokens.id_token },
    credentials: null,
  });
  sameAuthentication(first.claims, second.claims);
}

/** OIDCCLoginHint: login_hint must not break the flow (Gatehouse also prefills the login field). */
export async function oidcc_login_hint(t) {
  const { flow } = await t.codeFlow({ params: { login_hint: t.user.login } });
  const login = flow.pages.find((p) => p.kind === 'login');
  if (login && !login.body.includes(`value="${t.user.login}"`)) t.warn('the login field was not prefilled from login_hint');
}

/** OIDCCUiLocales / OIDCCClaimsLocales: must not break the flow. */
export async function oidcc_ui_locales(t) {
  await t.codeFlow({ params: { ui_locales: 'se' } });
}
export async function oidcc_claims_locales(t) {
  await flowWithUserInfo(t, { params: { claims_locales: 'se' }, scope: 'openid profile' });
}

/**
 * OIDCCEnsureRequestWithAcrValuesSucceeds: acr_values = everything in acr_values_supported (as
 * OIDCCAddAcrValuesToAuthorizationEndpointRequest builds it). acr_values is a list of voluntary
 * preferences (OIDC Core §3.1.2.1), so the request must succeed; an acr among the requested
 * values is a SHOULD (WARNING otherwise).
 */
export async function oidcc_ensure_request_with_acr_values_succeeds(t) {
  const requested = t.discovery.acr_values_supported || ['1', '2'];
  const { claims } = await t.codeFlow({ params: { acr_values: requested.join(' ') } });
  if (!requested.includes(claims.acr)) t.warn(`acr ${claims.acr} is not one of the requested ${requested.join(' ')}`);
}

/**
 * AbstractOIDCCAuthCodeReuse.checkResponse: the second use of a code gets HTTP 400, JSON,
 * error=invalid_grant with a well-formed error_description.
 */
async function expectCodeReuseRejected(t, flow) {
  try {
    await client.authorizationCodeGrant(flow.config, new URL(flow.callback), {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.verifier,
    });
  } catch (err) {
    if (!(err instanceof client.ResponseBodyError)) throw new Fail(`unexpected failure on reuse: ${describe(err)}`);
    check(err.status === 400, `reused code answered HTTP ${err.status}, expected 400 (CheckTokenEndpointHttpStatus400)`);
    check(/^application\/json\b/.test(err.response?.headers.get('content-type') || ''), 'the error is not JSON');
    check(err.error === 'invalid_grant', `error is ${err.error}, expected invalid_grant (RFC 6749 §5.2)`);
    if (err.error_description !== undefined) checkErrorText(err.error_description, 'error_description');
    return;
  }
  return 'accepted';
}

/** OIDCCAuthCodeReuse: reuse at once → invalid_grant (the suite only warns if it is accepted). */
export async function oidcc_codereuse(t) {
  const { flow } = await t.codeFlow();
  if ((await expectCodeReuseRejected(t, flow)) === 'accepted') t.warn('the server accepted the same code twice');
}

/**
 * OIDCCAuthCodeReuseAfter30Seconds: reuse 30 s later → invalid_grant (a MUST here), and the
 * access token from the first use SHOULD now be revoked (WARNING if it still works). The full
 * 30 s are waited; the runner runs this module alongside the others.
 */
export async function oidcc_codereuse_30seconds(t) {
  const { flow, tokens, claims } = await t.codeFlow();
  await sleep(30_000);
  check((await expectCodeReuseRejected(t, flow)) !== 'accepted', 'the server accepted the same code again after 30 s');
  try {
    await client.fetchUserInfo(flow.config, tokens.access_token, claims.sub);
    t.warn('the access token from the reused code still works (RFC 6749 §4.1.2 SHOULD revoke)');
  } catch {
    // revoked, as recommended
  }
}

/** OIDCCEnsureRegisteredRedirectUri: an unregistered redirect_uri gets an error page, never a redirect. */
export async function oidcc_ensure_registered_redirect_uri(t) {
  const bad = `${REDIRECT_URI}/${randomString(10)}`;
  const flow = await t.startFlow({ redirectUri: bad });
  stayedOnErrorPage(flow, 'an unregistered redirect_uri');
}

/** OIDCCEnsurePostRequestSucceeds: the authorization request sent as a form POST. */
export async function oidcc_ensure_post_request_succeeds(t) {
  await t.codeFlow({ method: 'POST' });
}

/** OIDCCServerTestClientSecretPost: oidcc-server with client_secret_post. */
export async function oidcc_server_client_secret_post(t) {
  const { flow, tokens, claims } = await t.codeFlow({ c: t.clients.post, auth: 'client_secret_post' });
  await client.fetchUserInfo(flow.config, tokens.access_token, claims.sub);
}

/** An unsigned request object (alg none) carrying the whole request, as the suite builds it. */
function unsignedRequestObject(t, c, extra = {}) {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const claims = {
    iss: c.client_id, aud: t.issuer, response_type: 'code', client_id: c.client_id, scope: 'openid',
    redirect_uri: REDIRECT_URI, state, nonce, ...extra,
  };
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return { jwt: `${enc({ alg: 'none' })}.${enc(claims)}.`, state, nonce };
}

/**
 * The request-object modules accept either outcome: processed correctly, or refused with
 * `request_not_supported` / `request_uri_not_supported`. Returns 'rejected' or 'processed'.
 */
async function requestObjectOutcome(t, flow, unsupportedError, ro) {
  check(flow.callback, `the OP did not answer with a redirect (showed a ${flow.pages.at(-1)?.kind} page, HTTP ${flow.pages.at(-1)?.status})`);
  const u = new URL(flow.callback);
  if (u.searchParams.get('error')) {
    // state was only inside the request object, so the OP cannot return it.
    const r = await t.expectAuthorizationError(flow, { expectedState: client.skipStateCheck });
    check(r.error === unsupportedError, `error is ${r.error}, expected ${unsupportedError} or a processed request`);
    return 'rejected';
  }
  const tokens = await client.authorizationCodeGrant(flow.config, u, { expectedState: ro.state, expectedNonce: ro.nonce, idTokenExpected: true });
  await t.validateIdToken(flow.config, tokens.id_token, tokens.access_token);
  return 'processed';
}

/** OIDCCRequestUriUnsignedSupportedCorrectlyOrRejectedAsUnsupported (dynamic-only in the suite; replayed with the static client). */
export async function oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(t) {
  const c = t.clients.client;
  const config = await t.rp(c);
  const ro = unsignedRequestObject(t, c);
  const url = client.buildAuthorizationUrl(config, {
    response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI,
    // Nothing serves this URL: an OP that supported request_uri would fail to fetch it and
    // the module would fail, which is the honest outcome for a broken implementation.
    request_uri: 'http://127.0.0.1:9/request.jwt',
  });
  const flow = await t.startFlow({ config, mutate: (u) => { u.search = url.search; } });
  flow.state = ro.state;
  const outcome = await requestObjectOutcome(t, flow, 'request_uri_not_supported', ro);
  if (outcome === 'rejected') {
    check(t.discovery.request_uri_parameter_supported === false, 'request_uri is rejected but discovery does not say request_uri_parameter_supported=false');
    t.warn('rejected as unsupported (request_uri_not_supported); the official suite records this outcome as skipped');
  }
}

/** OIDCCUnsignedRequestObjectSupportedCorrectlyOrRejectedAsUnsupported */
export async function oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(t) {
  const c = t.clients.client;
  const config = await t.rp(c);
  const ro = unsignedRequestObject(t, c);
  const url = client.buildAuthorizationUrl(config, { response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI, request: ro.jwt });
  const flow = await t.startFlow({ config, mutate: (u) => { u.search = url.search; } });
  const outcome = await requestObjectOutcome(t, flow, 'request_not_supported', ro);
  if (outcome === 'rejected') {
    check(t.discovery.request_parameter_supported !== true, 'request objects are rejected but discovery says request_parameter_supported=true');
    t.warn('rejected as unsupported (request_not_supported); the official suite records this outcome as skipped');
  }
}

/** OIDCCClaimsEssential: name requested as an essential userinfo claim; WARNINGs only on content. */
export async function oidcc_claims_essential(t) {
  const claimsParam = JSON.stringify({ userinfo: { name: { essential: true } } });
  const { userinfo, claims } = await flowWithUserInfo(t, { params: { claims: claimsParam } });
  if (userinfo.name === undefined) t.warn('userinfo has no name although it was requested as essential (EnsureUserInfoContainsName)');
  if (claims.name !== undefined) t.warn('the ID token carries name although it was requested for userinfo only (EnsureIdTokenDoesNotContainName)');
}

/** OIDCCEnsureRequestObjectWithRedirectUri: only testable where request objects are supported. */
export async function oidcc_ensure_request_object_with_redirect_uri(t) {
  const c = t.clients.client;
  const config = await t.rp(c);
  const ro = unsignedRequestObject(t, c);
  // The request object names the registered URI; the query carries a different one.
  const url = client.buildAuthorizationUrl(config, { response_type: 'code', scope: 'openid', redirect_uri: `${REDIRECT_URI}?invalid`, request: ro.jwt });
  const flow = await t.startFlow({ config, mutate: (u) => { u.search = url.search; } });
  if (!flow.callback) {
    // The query's redirect_uri is not registered: an OP without request objects shows an error
    // page, which is how the suite sees it too (it would need request object support to go on).
    stayedOnErrorPage(flow, 'an unregistered redirect_uri in the query');
    throw new Skip('request objects are not supported (the unregistered query redirect_uri got an error page), so precedence cannot be tested');
  }
  const outcome = await requestObjectOutcome(t, flow, 'request_not_supported', ro);
  if (outcome === 'rejected') throw new Skip('request objects are not supported (request_not_supported), so precedence cannot be tested');
}

/**
 * OIDCCRefreshToken: refresh with client 1 (new access token, ID token claims per OIDC Core
 * §12.2), then client 2's refresh token presented by client 1 must be refused.
 */
export async function oidcc_refresh_token(t) {
  const scope = 'openid';
  const first = await t.codeFlow({ scope });
  const rt = first.tokens.refresh_token;
  if (!rt) {
    if ((t.discovery.grant_types_supported || []).includes('refresh_token')) t.warn('refresh_token is advertised but none was issued');
    throw new Skip('no refresh token was issued, so refresh tokens cannot be tested');
  }
  check(/^[\x20-\x7E]+$/.test(rt), 'refresh token has characters outside VSCHAR (RFC 6749 A.17)');
  await sleep(1000); // WaitForOneSecond: iat must differ
  const refreshed = await client.refreshTokenGrant(first.flow.config, rt, { scope });
  const res = t.tokenResponses.at(-1);
  check(res.status === 200, `refresh answered HTTP ${res.status}`);
  check(/^application\/json\b/.test(res.headers.get('content-type') || ''), 'refresh response is not JSON');
  check(/no-store/.test(res.headers.get('cache-control') || ''), 'refresh response lacks Cache-Control: no-store');
  check(refreshed.token_type?.toLowerCase() === 'bearer', `token_type is ${refreshed.token_type}`);
  check(refreshed.access_token !== first.tokens.access_token, 'the refreshed access token is the same as the first');
  if (refreshed.refresh_token !== undefined) check(refreshed.refresh_token.length >= 22, 'the new refresh token is too short to carry 128 bits');
  if (refreshed.id_token) {
    await t.validateIdToken(first.flow.config, refreshed.id_token, refreshed.access_token);
    const a = first.claims;
    const b = refreshed.claims();
    for (const c of ['iss', 'sub']) check(a[c] === b[c], `${c} changed on refresh (OIDC Core §12.2)`);
    check(JSON.stringify([a.aud].flat().sort()) === JSON.stringify([b.aud].flat().sort()), 'aud changed on refresh');
    check(b.iat !== a.iat, 'iat of the refreshed ID token is the same as the original');
    if (b.auth_time !== undefined) check(b.auth_time === a.auth_time, 'auth_time changed on refresh');
    check(a.azp === b.azp, 'azp changed on refresh');
  }
  await client.fetchUserInfo(first.flow.config, refreshed.access_token, first.claims.sub);

  // Second client: its refresh token must not work for client 1 (RefreshTokenRequestExpectingErrorSteps).
  const second = await t.codeFlow({ c: t.clients.client2, scope });
  const rt2 = second.tokens.refresh_token;
  check(rt2, 'client 2 got no refresh token');
  try {
    await client.refreshTokenGrant(first.flow.config, rt2);
  } catch (err) {
    check(err instanceof client.ResponseBodyError, `unexpected failure: ${describe(err)}`);
    check(err.status === 400 || err.status === 401, `HTTP ${err.status} for another client's refresh token`);
    check(['invalid_grant', 'invalid_client', 'unauthorized_client'].includes(err.error), `error is ${err.error}, expected invalid_grant`);
    return;
  }
  throw new Fail("client 1 could use client 2's refresh token");
}

/** OIDCCEnsureRequestWithValidPkceSucceeds: a confidential client using S256 PKCE. */
export async function oidcc_ensure_request_with_valid_pkce_succeeds(t) {
  await t.codeFlow({ pkce: true });
}

// ---------------------------------------------------------------------------------------------
// Modules of the other OP plans that apply to a code-flow OP

/** OIDCCEnsureRedirectUriInAuthorizationRequest: no redirect_uri → error page, or invalid_request with state. */
export async function oidcc_ensure_redirect_uri_in_authorization_request(t) {
  const flow = await t.startFlow({ redirectUri: null });
  if (!flow.callback) {
    stayedOnErrorPage(flow, 'a missing redirect_uri');
    return;
  }
  const r = await t.expectAuthorizationError(flow);
  check(['invalid_request', 'invalid_request_object'].includes(r.error), `error is ${r.error}, expected invalid_request`);
}

/**
 * OIDCCServerTest in the Form Post Basic plan (response_mode=form_post): the response comes as
 * an auto-submitting form; with JavaScript off the browser shows its button, which is pressed.
 */
export async function oidcc_server_form_post(t) {
  const { flow } = await t.codeFlow({ params: { response_mode: 'form_post' } });
  check(typeof flow.callback !== 'string', 'response_mode=form_post answered with a query redirect');
  const last = flow.last;
  check(/no-store/.test(last.headers.get('cache-control') || ''), 'the form_post page is cacheable');
}
