#!/usr/bin/env node
// Gatehouse conformance runner: replays the OpenID Foundation conformance suite's Config OP and
// Basic OP modules (plus the RP-Initiated Logout and Form Post modules that apply) against a
// running Gatehouse, with openid-client as the relying party and a JavaScript-free browser for
// the hosted pages. One line per module:
//
//   PASS <module> [(warning: ...)]     the module's assertions hold (warnings as the suite grades them)
//   FAIL <module>: <reason>            an assertion does not hold
//   SKIP <module>: <why>               the module does not apply (not counted)
//
// and last `N passed, N failed`. Exit status 1 if anything failed.
//
// Started by ./run, which provides GATEHOUSE_URL (the server's base URL), GATEHOUSE_BIN and the
// GATEHOUSE_* settings the admin CLI needs to reach the same database.

import { Browser } from './lib/browser.mjs';
import { createFixtures } from './lib/gatehouse.mjs';
import { Fail, Skip, TestContext, describe } from './lib/rp.mjs';
import * as config from './modules/config.mjs';
import * as basic from './modules/basic.mjs';
import * as logout from './modules/logout.mjs';
import * as gh from './modules/gatehouse.mjs';
import * as interop from './modules/interop.mjs';

const BASE = process.env.GATEHOUSE_URL;
if (!BASE) {
  console.error('GATEHOUSE_URL is not set; run ./conformance/run');
  process.exit(2);
}
const SLUG = process.env.GATEHOUSE_CONFORMANCE_TENANT || 'conformance';
const ISSUER = `${BASE.replace(/\/$/, '')}/t/${SLUG}`;

// `token: false` marks modules that never reach the token endpoint. `background: true` starts a
// module at once and lets it run alongside the others (it mostly waits), its line still printed
// in plan order. `timeout` is in seconds.
const MODULES = [
  // Config OP (oidcc-config-certification-test-plan)
  { name: 'oidcc-discovery-endpoint-verification', fn: config.oidcc_discovery_endpoint_verification, token: false },

  // Basic OP (oidcc-basic-certification-test-plan[server_metadata=discovery][client_registration=static_client])
  { name: 'oidcc-server', fn: basic.oidcc_server },
  { name: 'oidcc-response-type-missing', fn: basic.oidcc_response_type_missing, token: false },
  { name: 'oidcc-idtoken-signature', fn: basic.oidcc_idtoken_signature },
  { name: 'oidcc-idtoken-signature[id_token_signed_response_alg=ES256]', fn: basic.oidcc_idtoken_signature_es256 },
  { name: 'oidcc-idtoken-signature[id_token_signed_response_alg=EdDSA]', fn: basic.oidcc_idtoken_signature_eddsa },
  { name: 'oidcc-idtoken-unsigned', fn: basic.oidcc_idtoken_unsigned, token: false },
  { name: 'oidcc-userinfo-get', fn: basic.oidcc_userinfo_get },
  { name: 'oidcc-userinfo-post-header', fn: basic.oidcc_userinfo_post_header },
  { name: 'oidcc-userinfo-post-body', fn: basic.oidcc_userinfo_post_body },
  { name: 'oidcc-ensure-request-without-nonce-succeeds-for-code-flow', fn: basic.oidcc_ensure_request_without_nonce_succeeds_for_code_flow },
  { name: 'oidcc-scope-profile', fn: basic.oidcc_scope_profile },
  { name: 'oidcc-scope-email', fn: basic.oidcc_scope_email },
  { name: 'oidcc-scope-address', fn: basic.oidcc_scope_address },
  { name: 'oidcc-scope-phone', fn: basic.oidcc_scope_phone },
  { name: 'oidcc-scope-all', fn: basic.oidcc_scope_all },
  { name: 'oidcc-ensure-other-scope-order-succeeds', fn: basic.oidcc_ensure_other_scope_order_succeeds },
  { name: 'oidcc-display-page', fn: basic.oidcc_display_page },
  { name: 'oidcc-display-popup', fn: basic.oidcc_display_popup },
  { name: 'oidcc-prompt-login', fn: basic.oidcc_prompt_login },
  { name: 'oidcc-prompt-none-not-logged-in', fn: basic.oidcc_prompt_none_not_logged_in, token: false },
  { name: 'oidcc-prompt-none-logged-in', fn: basic.oidcc_prompt_none_logged_in },
  { name: 'oidcc-max-age-1', fn: basic.oidcc_max_age_1 },
  { name: 'oidcc-max-age-10000', fn: basic.oidcc_max_age_10000 },
  { name: 'oidcc-ensure-request-with-unknown-parameter-succeeds', fn: basic.oidcc_ensure_request_with_unknown_parameter_succeeds },
  { name: 'oidcc-id-token-hint', fn: basic.oidcc_id_token_hint },
  { name: 'oidcc-login-hint', fn: basic.oidcc_login_hint },
  { name: 'oidcc-ui-locales', fn: basic.oidcc_ui_locales },
  { name: 'oidcc-claims-locales', fn: basic.oidcc_claims_locales },
  { name: 'oidcc-ensure-request-with-acr-values-succeeds', fn: basic.oidcc_ensure_request_with_acr_values_succeeds },
  { name: 'oidcc-codereuse', fn: basic.oidcc_codereuse },
  { name: 'oidcc-codereuse-30seconds', fn: basic.oidcc_codereuse_30seconds, background: true, timeout: 75 },
  { name: 'oidcc-ensure-registered-redirect-uri', fn: basic.oidcc_ensure_registered_redirect_uri, token: false },
  { name: 'oidcc-ensure-post-request-succeeds', fn: basic.oidcc_ensure_post_request_succeeds },
  { name: 'oidcc-server-client-secret-post', fn: basic.oidcc_server_client_secret_post },
  { name: 'oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported', fn: basic.oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported, token: false },
  { name: 'oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported', fn: basic.oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported, token: false },
  { name: 'oidcc-claims-essential', fn: basic.oidcc_claims_essential },
  { name: 'oidcc-ensure-request-object-with-redirect-uri', fn: basic.oidcc_ensure_request_object_with_redirect_uri, token: false },
  { name: 'oidcc-refresh-token', fn: basic.oidcc_refresh_token },
  { name: 'oidcc-ensure-request-with-valid-pkce-succeeds', fn: basic.oidcc_ensure_request_with_valid_pkce_succeeds },

  // From the other OP plans, where they apply to a code-flow OP
  { name: 'oidcc-ensure-redirect-uri-in-authorization-request', fn: basic.oidcc_ensure_redirect_uri_in_authorization_request, token: false },
  { name: 'oidcc-server[response_mode=form_post]', fn: basic.oidcc_server_form_post },
  { name: 'oidcc-rp-initiated-logout-discovery-endpoint-verification', fn: config.oidcc_rp_initiated_logout_discovery_endpoint_verification, token: false },
  { name: 'oidcc-rp-initiated-logout', fn: logout.oidcc_rp_initiated_logout },
  { name: 'oidcc-rp-initiated-logout-no-state', fn: logout.oidcc_rp_initiated_logout_no_state },
  { name: 'oidcc-rp-initiated-logout-bad-post-logout-redirect-uri', fn: logout.oidcc_rp_initiated_logout_bad_post_logout_redirect_uri },
  { name: 'oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri', fn: logout.oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri },
  { name: 'oidcc-rp-initiated-logout-modified-id-token-hint', fn: logout.oidcc_rp_initiated_logout_modified_id_token_hint },
  { name: 'oidcc-rp-initiated-logout-no-id-token-hint', fn: logout.oidcc_rp_initiated_logout_no_id_token_hint },

  // Gatehouse's own promises (not official module names)
  { name: 'gatehouse-public-client-pkce-required', fn: gh.gatehouse_public_client_pkce_required, token: false },
  { name: 'gatehouse-public-client-pkce-verifier-checked', fn: gh.gatehouse_public_client_pkce_verifier_checked },
  { name: 'gatehouse-refresh-token-rotation', fn: gh.gatehouse_refresh_token_rotation },
  { name: 'gatehouse-redirect-uri-exact-match', fn: gh.gatehouse_redirect_uri_exact_match, token: false },
  { name: 'gatehouse-private-key-jwt', fn: gh.gatehouse_private_key_jwt },

  // The same server through two more certified RP libraries (npm oauth4webapi, Python Authlib)
  { name: 'gatehouse-oauth4webapi-rfc8414-metadata', fn: interop.gatehouse_oauth4webapi_rfc8414_metadata, token: false },
  { name: 'gatehouse-oauth4webapi-code-flow', fn: interop.gatehouse_oauth4webapi_code_flow },
  { name: 'gatehouse-oauth4webapi-max-age-after-slow-mfa', fn: interop.gatehouse_oauth4webapi_max_age_after_slow_mfa, timeout: 60 },
  { name: 'gatehouse-authlib-code-flow', fn: interop.gatehouse_authlib_code_flow, timeout: 60 },
];

/** Runs one module to an outcome: { status: 'PASS'|'FAIL'|'SKIP', detail }. Never throws. */
async function runModule(mod, shared) {
  const t = new TestContext({ ...shared, module: mod.name });
  if (mod.token !== false && shared.tokenMissing) {
    return { status: 'FAIL', detail: `needs ${shared.discovery.token_endpoint}, which answers HTTP 404 (token endpoints not merged yet)` };
  }
  let timer;
  const limit = (mod.timeout ?? 45) * 1000;
  try {
    await Promise.race([
      mod.fn(t),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Fail(`did not finish within ${limit / 1000} s`)), limit);
      }),
    ]);
    const detail = t.warnings.length ? `(warning: ${t.warnings.join('; ')})` : '';
    return { status: 'PASS', detail };
  } catch (err) {
    if (err instanceof Skip) return { status: 'SKIP', detail: err.message };
    return { status: 'FAIL', detail: describe(err) };
  } finally {
    clearTimeout(timer);
  }
}

function line(name, { status, detail }) {
  if (status === 'PASS') return `PASS ${name}${detail ? ` ${detail}` : ''}`;
  return `${status} ${name}: ${detail}`;
}

async function main() {
  const only = process.argv.slice(2);
  const selected = only.length ? MODULES.filter((m) => only.some((o) => m.name.includes(o))) : MODULES;

  const fixtures = await createFixtures(SLUG);
  const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
  // Is the token side there? An empty POST gets 400/401 from a real token endpoint.
  const probe = await fetch(discovery.token_endpoint, { method: 'POST' });
  const shared = {
    issuer: ISSUER,
    discovery,
    clients: fixtures,
    user: fixtures.user,
    tokenMissing: probe.status === 404,
    newBrowser: () => new Browser(new URL(BASE).origin),
  };

  // Background modules start now; the rest run one after another.
  const started = new Map();
  for (const m of selected) if (m.background) started.set(m, runModule(m, shared));
  let passed = 0;
  let failed = 0;
  for (const m of selected) {
    const outcome = await (started.get(m) ?? runModule(m, shared));
    if (outcome.status === 'PASS') passed++;
    if (outcome.status === 'FAIL') failed++;
    console.log(line(m.name, outcome));
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`runner error: ${err?.stack ?? err}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
