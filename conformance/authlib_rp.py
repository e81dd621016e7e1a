#!/usr/bin/env python3
"""A relying party written with Authlib (the certified Python library), driven by the
conformance runner's `gatehouse-authlib-code-flow` module over stdin/stdout, one JSON line each
way:

  in:  {"issuer", "client_id", "client_secret", "redirect_uri"}
  out: {"authorize": URL}            the authorization request Authlib built (PKCE S256, nonce)
  in:  the callback URL the hosted pages redirected to
  out: {"sub", "userinfo", "refreshed"} or {"error"}

Authlib does all of the RP's work: discovery, state, PKCE, the token exchange with
client_secret_basic, ID token validation against the JWKS (iss, aud, exp, iat, nonce, at_hash),
UserInfo and a refresh.
"""

import json
import os
import sys

# Gatehouse listens on http://127.0.0.1 in the test run; Authlib refuses plain http otherwise.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402


def say(obj):
    print(json.dumps(obj), flush=True)


def main():
    cfg = json.loads(sys.stdin.readline())
    issuer = cfg["issuer"]
    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    if meta["issuer"] != issuer:
        raise ValueError(f"discovery issuer {meta['issuer']} is not {issuer}")
    session = OAuth2Session(
        cfg["client_id"],
        cfg["client_secret"],
        scope="openid email profile",
        redirect_uri=cfg["redirect_uri"],
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, _state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    say({"authorize": url})

    callback = sys.stdin.readline().strip()
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params={
            "nonce": nonce,
            "client_id": cfg["client_id"],
            "access_token": token["access_token"],
        },
    )
    claims.validate()
    userinfo = session.get(meta["userinfo_endpoint"], timeout=10).json()
    refreshed = session.refresh_token(
        meta["token_endpoint"], refresh_token=token["refresh_token"]
    )
    say(
        {
            "sub": claims["sub"],
            "userinfo": userinfo,
            "refreshed": bool(refreshed.get("access_token"))
            and refreshed.get("refresh_token") != token["refresh_token"],
        }
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the runner, whatever went wrong
        say({"error": f"{type(e).__name__}: {e}"})
