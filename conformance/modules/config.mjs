// Config OP: the official `oidcc-config-certification-test-plan` has one module,
// `oidcc-discovery-endpoint-verification`; its conditions are replayed one by one below (the
// condition class names of the suite are in the comments). The RP-Initiated Logout plan adds a
// discovery check of its own, replayed as `oidcc-rp-initiated-logout-discovery-endpoint-verification`.

import { check, parsePublicJwk } from '../lib/rp.mjs';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function isUrl(s) {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** BCP 47 language tag, the subset RFC 5646 §2.1 allows in practice. */
const LANGUAGE_TAG = /^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$/;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export async function oidcc_discovery_endpoint_verification(t) {
  const url = `${t.issuer}/.well-known/openid-configuration`;
  // GetDynamicServerConfiguration, EnsureDiscoveryEndpointResponseStatusCodeIs200,
  // CheckDiscoveryEndpointReturnedJsonContentType
  const res = await fetch(url);
  check(res.status === 200, `discovery answered HTTP ${res.status}`);
  check(/^application\/json\b/.test(res.headers.get('content-type') || ''), `discovery content-type is ${res.headers.get('content-type')}`);
  const d = await res.json();

  // OIDCCCheckDiscEndpointResponseTypesSupported (static client): code must be listed
  check(Array.isArray(d.response_types_supported), 'response_types_supported is missing');
  check(d.response_types_supported.includes('code'), 'response_types_supported lacks "code"');
  // CheckDiscEndpointDiscoveryUrl
  check(url.endsWith('/.well-known/openid-configuration'), 'discovery URL does not end in /.well-known/openid-configuration');
  // CheckDiscEndpointIssuer (OIDCD-4.3): issuer + well-known path == discovery URL
  check(d.issuer === t.issuer, `issuer ${d.issuer} does not match the URL it was fetched from (${t.issuer})`);
  check(`${d.issuer}/.well-known/openid-configuration` === url, 'issuer and discovery URL disagree');
  // CheckDiscEndpointIssuerIsValidUrl (RFC 8414 §2): no query, no fragment
  const iss = new URL(d.issuer);
  check(!iss.search && !iss.hash, 'issuer has a query or fragment');
  // CheckDiscEndpointSubjectTypesSupported
  check(Array.isArray(d.subject_types_supported) && d.subject_types_supported.length > 0, 'subject_types_supported missing');
  check(d.subject_types_supported.every((s) => s === 'public' || s === 'pairwise'), `unknown subject type in ${d.subject_types_supported}`);
  // OIDCCCheckDiscEndpointIdTokenSigningAlgValuesSupported: RS256 required (OIDC Core §15.1)
  check(Array.isArray(d.id_token_signing_alg_values_supported), 'id_token_signing_alg_values_supported missing');
  check(d.id_token_signing_alg_values_supported.includes('RS256'), 'id_token_signing_alg_values_supported lacks RS256');
  // OIDCCCheckDiscEndpointUserinfoSigningAlgValuesSupported: skipped when absent
  if (d.userinfo_signing_alg_values_supported !== undefined) {
    check(Array.isArray(d.userinfo_signing_alg_values_supported), 'userinfo_signing_alg_values_supported is not an array');
  }
  // CheckDiscEndpointAuthorizationEndpoint / TokenEndpoint / UserinfoEndpoint
  check(isUrl(d.authorization_endpoint), 'authorization_endpoint is not a URL');
  check(isUrl(d.token_endpoint), 'token_endpoint is not a URL');
  if (d.userinfo_endpoint === undefined) t.warn('userinfo_endpoint is not advertised (recommended)');
  else check(isUrl(d.userinfo_endpoint), 'userinfo_endpoint is not a URL');
  // CheckDiscEndpointRegistrationEndpoint: skipped when absent (static registration only)
  if (d.registration_endpoint !== undefined) check(isUrl(d.registration_endpoint), 'registration_endpoint is not a URL');

  // CheckJwksUri, FetchServerKeys, ValidateServerJWKs, EnsureServerJwksDoesNotContainPrivateOrSymmetricKeys
  check(isUrl(d.jwks_uri), 'jwks_uri is not a URL');
  const jr = await fetch(d.jwks_uri);
  check(jr.status === 200, `jwks_uri answered HTTP ${jr.status}`);
  const jwks = await jr.json();
  check(Array.isArray(jwks.keys) && jwks.keys.length > 0, 'the JWKS has no keys');
  const kids = new Set();
  for (const k of jwks.keys) {
    check(k.kty && k.kty !== 'oct', `a JWKS key is symmetric or has no kty (${k.kid})`);
    for (const m of PRIVATE_MEMBERS) check(k[m] === undefined, `JWKS key ${k.kid} publishes the private member "${m}"`);
    try {
      parsePublicJwk(k);
    } catch (e) {
      throw new Error(`JWKS key ${k.kid} does not parse as a ${k.kty} public key: ${e.message}`);
    }
    // CheckForKeyIdInServerJWKs (OIDCC-10.1) and the brief's use/alg requirement
    check(typeof k.kid === 'string' && k.kid.length > 0, 'a JWKS key has no kid');
    check(!kids.has(k.kid), `two JWKS keys share kid ${k.kid}`);
    kids.add(k.kid);
    check(k.use === 'sig', `JWKS key ${k.kid} has use=${k.use}, expected sig`);
    check(typeof k.alg === 'string', `JWKS key ${k.kid} has no alg`);
    check(d.id_token_signing_alg_values_supported.includes(k.alg), `JWKS key ${k.kid} alg ${k.alg} is not in id_token_signing_alg_values_supported`);
  }
  for (const alg of d.id_token_signing_alg_values_supported) {
    check(alg === 'none' || jwks.keys.some((k) => k.alg === alg), `no JWKS key for advertised alg ${alg}`);
  }

  // CheckDiscEndpointRequestParameterSupported / RequestUriParameterSupported (INFO only):
  // note that request_uri_parameter_supported defaults to true when absent (OIDC Discovery §3).
  if (d.request_uri_parameter_supported === undefined) {
    t.warn('request_uri_parameter_supported is absent, which means true, but request_uri is not supported');
  }
  // CheckDiscEndpointRequestObjectSigningAlgValuesSupportedIncludesRS256 (only when present)
  if (d.request_object_signing_alg_values_supported !== undefined && !d.request_object_signing_alg_values_supported.includes('RS256')) {
    t.warn('request_object_signing_alg_values_supported lacks RS256');
  }
  // CheckDiscEndpointClaimsParameterSupported (INFO), OIDCCCheckDiscEndpointClaimsSupported (WARNING)
  if (!Array.isArray(d.claims_supported) || d.claims_supported.length === 0) t.warn('claims_supported is not advertised');
  // OIDCCCheckDiscEndpointGrantTypesSupported (static): if present, must allow the code grant
  if (d.grant_types_supported !== undefined) {
    check(d.grant_types_supported.includes('authorization_code'), 'grant_types_supported lacks authorization_code');
    if (d.response_types_supported.some((r) => r.includes('token') || r.includes('id_token'))) {
      check(d.grant_types_supported.includes('implicit'), 'implicit response types advertised without the implicit grant');
    }
  }
  // CheckDiscEndpointScopesSupportedContainsOpenId, CheckDiscEndpointScopesSupportedSyntax
  if (d.scopes_supported === undefined) t.warn('scopes_supported is not advertised');
  else {
    check(d.scopes_supported.includes('openid'), 'scopes_supported lacks openid');
    for (const s of d.scopes_supported) check(SCOPE_TOKEN.test(s), `scope ${JSON.stringify(s)} is not a valid scope-token`);
  }
  // CheckDiscEndpointLocalesSyntax / LocalesCanonicalCasing
  for (const f of ['ui_locales_supported', 'claims_locales_supported']) {
    if (d[f] === undefined) continue;
    check(Array.isArray(d[f]), `${f} is not an array`);
    for (const l of d[f]) check(LANGUAGE_TAG.test(l), `${f} has an invalid language tag ${l}`);
  }
  // CheckDiscEndpointAllEndpointsAreHttps: this local run is plain http on 127.0.0.1, so the
  // condition cannot hold here; every endpoint must at least share the issuer's origin and
  // scheme, so that a deployment with an https public URL serves them all over https.
  const endpoints = Object.entries(d).filter(([k, v]) => (k.endsWith('_endpoint') || k === 'jwks_uri') && typeof v === 'string');
  for (const [k, v] of endpoints) {
    check(new URL(v).origin === iss.origin, `${k} (${v}) is not on the issuer's origin`);
  }
  if (iss.protocol !== 'https:') {
    t.warn('CheckDiscEndpointAllEndpointsAreHttps needs an https deployment (local http run: endpoints checked to share the issuer origin)');
  }
  // EnsureServerConfigurationCodeChallengeMethodsSupportedIsAnArray (RFC 8414 §2)
  if (d.code_challenge_methods_supported !== undefined) {
    check(Array.isArray(d.code_challenge_methods_supported), 'code_challenge_methods_supported is not an array');
  }
}

/** OIDCCRpInitiatedLogoutDiscoveryEndpointVerification: end_session_endpoint is advertised. */
export async function oidcc_rp_initiated_logout_discovery_endpoint_verification(t) {
  const d = t.discovery;
  check(isUrl(d.end_session_endpoint), 'end_session_endpoint is not advertised');
  check(new URL(d.end_session_endpoint).origin === new URL(d.issuer).origin, 'end_session_endpoint is off the issuer origin');
}
