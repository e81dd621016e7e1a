//! The admin CLI, run as a binary against a fresh database: one JSON object with `--json`,
//! one-line errors with a non-zero exit, nothing half-written.

use crate::common;

use common::{Backend, TestEnv};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A failed command: non-zero exit, one `error:` line, nothing on stdout, no panic.
fn assert_one_line_error(out: &std::process::Output, needle: &str) {
    assert!(!out.status.success(), "expected failure");
    let err = stderr(out);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "`{needle}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

async fn tenants(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let t = env
        .cli_json(&[
            "tenant",
            "create",
            "acme",
            "--name",
            "Acme Corp",
            "--mfa",
            "required",
        ])
        .await;
    assert_eq!(t["slug"], "acme");
    assert_eq!(t["name"], "Acme Corp");
    assert_eq!(t["mfa_policy"], "required");
    assert_eq!(t["mfa_prompt_enrollment"], false);
    assert_eq!(t["mfa_methods"], serde_json::json!(["totp"]));

    let dup = env.cli(&["tenant", "create", "acme"]).await;
    assert_one_line_error(&dup, "tenant `acme` already exists");
    let bad = env.cli(&["tenant", "create", "Not A Slug"]).await;
    assert_one_line_error(&bad, "invalid tenant slug");
    let bad_mfa = env
        .cli(&["tenant", "create", "x", "--mfa", "sometimes"])
        .await;
    assert!(!bad_mfa.status.success());

    let u = env
        .cli_json(&[
            "tenant",
            "update",
            "acme",
            "--mfa",
            "optional",
            "--prompt-enrollment",
            "true",
        ])
        .await;
    assert_eq!(u["mfa_policy"], "optional");
    assert_eq!(u["mfa_prompt_enrollment"], true);
    assert_eq!(u["name"], "Acme Corp", "untouched fields keep their value");
    let missing = env
        .cli(&["tenant", "update", "nope", "--mfa", "required"])
        .await;
    assert_one_line_error(&missing, "unknown tenant `nope`");

    env.cli_json(&["tenant", "create", "beta"]).await;
    let list = env.cli_json(&["tenant", "list"]).await;
    let slugs: Vec<_> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme", "beta"]);

    // Human output without --json.
    let human = env.cli(&["tenant", "list"]).await;
    assert!(String::from_utf8_lossy(&human.stdout).contains("acme"));
}
both_backends!(tenants, super::tenants);

async fn clients(backend: Backend) {
    let env = TestEnv::new(backend).await;
    env.cli_json(&["tenant", "create", "acme"]).await;
    let c = env
        .cli_json(&[
            "client",
            "create",
            "acme",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--redirect-uri",
            "http://localhost:3000/cb",
            "--name",
            "Web App",
            "--mfa-policy",
            "required",
            "--trust-policy",
            "none",
            "--id-token-alg",
            "ES256",
        ])
        .await;
    let secret = c["client_secret"].as_str().unwrap();
    // ≥ 256 bits: 32 random bytes as base64url.
    assert!(secret.len() >= 43, "{secret}");
    assert_eq!(c["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(c["mfa_policy"], "required");
    assert_eq!(c["trust_policy"], "none");
    assert_eq!(c["id_token_alg"], "ES256");
    assert_eq!(
        c["redirect_uris"],
        serde_json::json!(["https://app.example.com/cb", "http://localhost:3000/cb"])
    );

    let public = env
        .cli_json(&[
            "client",
            "create",
            "acme",
            "--public",
            "--redirect-uri",
            "com.example.app:/cb",
        ])
        .await;
    assert!(public["client_secret"].is_null());
    assert_eq!(public["token_endpoint_auth_method"], "none");

    // The list never shows a secret or its hash.
    let list = env.cli(&["client", "list", "acme", "--json"]).await;
    let text = String::from_utf8(list.stdout).unwrap();
    assert!(!text.contains(secret));
    assert!(!text.contains("secret_hash"));
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["clients"].as_array().unwrap().len(), 2);

    for (uri, needle) in [
        ("not a uri", "invalid redirect URI"),
        (
            "http://app.example.com/cb",
            "http is allowed only for localhost",
        ),
        ("https://app.example.com/cb#x", "fragment"),
    ] {
        let out = env
            .cli(&["client", "create", "acme", "--redirect-uri", uri])
            .await;
        assert_one_line_error(&out, needle);
    }
    let out = env
        .cli(&[
            "client",
            "create",
            "nope",
            "--redirect-uri",
            "https://a.example/cb",
        ])
        .await;
    assert_one_line_error(&out, "unknown tenant `nope`");
    // Nothing was half-written by the failures.
    let v = env.cli_json(&["client", "list", "acme"]).await;
    assert_eq!(v["clients"].as_array().unwrap().len(), 2);
}
both_backends!(clients, super::clients);

/// `client update` changes what `client create` registered, with its flag names and checks:
/// `--redirect-uri` (repeatable) replaces the list; a refused value changes nothing.
async fn client_update(backend: Backend) {
    let env = TestEnv::new(backend).await;
    env.cli_json(&["tenant", "create", "acme"]).await;
    let c = env
        .cli_json(&[
            "client",
            "create",
            "acme",
            "--redirect-uri",
            "https://app.example.com/cb",
        ])
        .await;
    let id = c["client_id"].as_str().unwrap().to_owned();
    assert_eq!(c["version"], 1, "{c}");
    let u = env
        .cli_json(&[
            "client",
            "update",
            "acme",
            &id,
            "--redirect-uri",
            "https://app.example.com/new",
            "--redirect-uri",
            "http://localhost:3000/cb",
            "--name",
            "Renamed",
            "--mfa-policy",
            "required",
            "--trust-policy",
            "none",
            "--access-token-ttl",
            "120",
            "--first-party",
            "true",
            "--web-origin",
            "https://app.example.com",
        ])
        .await;
    assert_eq!(
        u["redirect_uris"],
        serde_json::json!(["https://app.example.com/new", "http://localhost:3000/cb"])
    );
    assert_eq!(u["name"], "Renamed");
    assert_eq!(u["mfa_policy"], "required");
    assert_eq!(u["trust_policy"], "none");
    assert_eq!(u["access_token_ttl_secs"], 120);
    assert_eq!(u["first_party"], true);
    assert_eq!(
        u["web_origins"],
        serde_json::json!(["https://app.example.com"])
    );
    assert_eq!(u["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(u["version"], 2, "one update, one version: {u}");
    // `--web-origin ""` alone empties the list; the others stay.
    let u = env
        .cli_json(&["client", "update", "acme", &id, "--web-origin", ""])
        .await;
    assert_eq!(u["web_origins"], serde_json::json!([]));
    assert_eq!(u["name"], "Renamed");

    for (args, needle) in [
        (
            vec!["--redirect-uri", "http://app.example.com/cb"],
            "redirect_uris",
        ),
        (vec!["--redirect-uri", ""], "redirect_uris: at least one"),
        (vec!["--access-token-ttl", "0"], "access_token_ttl_secs"),
        (vec!["--scope", "openid"], "scope"),
    ] {
        let mut all = vec!["client", "update", "acme", id.as_str()];
        all.extend_from_slice(&args);
        assert_one_line_error(&env.cli(&all).await, needle);
    }
    let got = env.cli_json(&["client", "get", "acme", &id]).await;
    assert_eq!(got["version"], 3, "nothing written by the failures: {got}");
    assert_eq!(got["redirect_uris"], u["redirect_uris"]);
    let audit = env.cli_json(&["audit", "list", "acme"]).await.to_string();
    assert!(audit.contains("client.updated"), "{audit}");
}
both_backends!(client_update, super::client_update);

async fn users(backend: Backend) {
    let env = TestEnv::new(backend).await;
    env.cli_json(&["tenant", "create", "acme"]).await;
    let u = env
        .cli_json_stdin(
            &[
                "user",
                "create",
                "acme",
                "Alice@Example.com",
                "--password-stdin",
                "--name",
                "Alice",
            ],
            "correct horse battery\n",
        )
        .await;
    assert_eq!(u["email"], "alice@example.com");
    assert_eq!(u["name"], "Alice");
    assert!(u["id"].as_str().unwrap().len() >= 32);
    assert!(u.get("password_hash").is_none());

    let dup = env
        .cli_with_stdin(
            &[
                "user",
                "create",
                "acme",
                "alice@example.com",
                "--password-stdin",
            ],
            "another password\n",
        )
        .await;
    assert_one_line_error(&dup, "already exists");
    let short = env
        .cli_with_stdin(
            &[
                "user",
                "create",
                "acme",
                "bob@example.com",
                "--password-stdin",
            ],
            "short\n",
        )
        .await;
    assert_one_line_error(&short, "password must be between 8 and 256 characters");
    let bad_email = env
        .cli_with_stdin(
            &["user", "create", "acme", "bob", "--password-stdin"],
            "long enough pw\n",
        )
        .await;
    assert_one_line_error(&bad_email, "invalid email");
    let no_tenant = env
        .cli_with_stdin(
            &[
                "user",
                "create",
                "nope",
                "bob@example.com",
                "--password-stdin",
            ],
            "long enough pw\n",
        )
        .await;
    assert_one_line_error(&no_tenant, "unknown tenant `nope`");

    let list = env.cli_json(&["user", "list", "acme"]).await;
    let users = list["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "failed creates wrote nothing");

    // The password is stored as an argon2id PHC string, never in clear.
    let state_db = gatehouse::store::Db::connect(&env.config.database)
        .await
        .unwrap();
    let tenant = gatehouse::store::tenants::get_by_slug(&state_db, "acme")
        .await
        .unwrap();
    let stored = gatehouse::store::users::find_by_login(&state_db, &tenant.id, "alice@example.com")
        .await
        .unwrap()
        .unwrap();
    let hash = stored.password_hash.unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains("correct horse"));
    state_db.close().await;
}
both_backends!(users, super::users);

/// `client create|update --token-endpoint-auth-method`, `--jwks-file`, `--jwks-uri` and
/// `client get`, through the binary.
async fn client_auth_methods(backend: Backend) {
    let env = TestEnv::new(backend).await;
    env.cli_json(&["tenant", "create", "acme"]).await;
    let cb = ["--redirect-uri", "https://app.example.com/cb"];
    let create = |extra: &[&str]| {
        let mut args = vec!["client", "create", "acme"];
        args.extend_from_slice(&cb);
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let env = &env;
        async move {
            env.cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
                .await
        }
    };
    let json = |out: std::process::Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };

    // A JWK Set file: the public Ed25519 key of RFC 8037 §A.2.
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    let set =
        serde_json::json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1" }] });
    let path = env.dir.path().join("client.jwks");
    std::fs::write(&path, set.to_string()).unwrap();
    let path = path.to_str().unwrap();
    let mut args = create(&["--token-endpoint-auth-method", "private_key_jwt"]);
    args.extend(["--jwks-file".into(), path.into(), "--json".into()]);
    let jwt = json(run(args).await);
    assert_eq!(jwt["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(jwt["jwks"], set);
    assert!(
        jwt["jwks_uri"].is_null() && jwt["client_secret"].is_null(),
        "{jwt}"
    );
    let id = jwt["client_id"].as_str().unwrap().to_owned();
    let got = env.cli_json(&["client", "get", "acme", &id]).await;
    assert_eq!(got["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(got["jwks"], set);
    let text = env.cli(&["client", "get", "acme", &id]).await;
    assert!(String::from_utf8_lossy(&text.stdout).contains("private_key_jwt"));

    // A secret client moves to client_secret_post, then to a jwks_uri, then back: the key
    // source goes with the method.
    let mut args = create(&[]);
    args.push("--json".into());
    let basic = json(run(args).await);
    let bid = basic["client_id"].as_str().unwrap().to_owned();
    let update = |extra: &[&str]| {
        let mut args = vec!["client", "update", "acme", bid.as_str()];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let post = env
        .cli_json(&[
            "client",
            "update",
            "acme",
            &bid,
            "--token-endpoint-auth-method",
            "client_secret_post",
        ])
        .await;
    assert_eq!(post["token_endpoint_auth_method"], "client_secret_post");
    let uri = "https://app.example.com/jwks";
    let mut args = update(&["--jwks-uri", uri]);
    args.push("--json".into());
    let moved = json(run(args).await);
    assert_eq!(moved["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(moved["jwks_uri"], uri);
    let mut args = update(&["--token-endpoint-auth-method", "client_secret_basic"]);
    args.push("--json".into());
    let back = json(run(args).await);
    assert_eq!(back["token_endpoint_auth_method"], "client_secret_basic");
    assert!(back["jwks_uri"].is_null());
    let public = env
        .cli_json(&["client", "create", "acme", "--public", cb[0], cb[1]])
        .await;
    assert_eq!(public["token_endpoint_auth_method"], "none");

    let private =
        serde_json::json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": x, "d": x }] });
    let private_path = env.dir.path().join("private.jwks");
    std::fs::write(&private_path, private.to_string()).unwrap();
    let private_path = private_path.to_str().unwrap();
    for (args, needle) in [
        (
            create(&[
                "--public",
                "--token-endpoint-auth-method",
                "client_secret_basic",
            ]),
            "public client",
        ),
        (
            create(&["--token-endpoint-auth-method", "none"]),
            "only for public clients",
        ),
        (
            create(&["--token-endpoint-auth-method", "private_key_jwt"]),
            "--jwks-file PATH or --jwks-uri URL",
        ),
        (create(&["--jwks-file", private_path]), "private"),
        (
            create(&["--jwks-file", "/nonexistent/jwks.json"]),
            "--jwks-file /nonexistent/jwks.json",
        ),
        (
            create(&["--jwks-uri", "http://app.example.com/jwks"]),
            "invalid --jwks-uri",
        ),
        (
            create(&[
                "--token-endpoint-auth-method",
                "client_secret_post",
                "--jwks-uri",
                uri,
            ]),
            "private_key_jwt",
        ),
        (
            vec![
                "client",
                "update",
                "acme",
                &id,
                "--token-endpoint-auth-method",
                "client_secret_basic",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            "has no secret",
        ),
        (
            vec!["client", "get", "acme", "nobody"]
                .into_iter()
                .map(String::from)
                .collect(),
            "unknown client `nobody`",
        ),
    ] {
        assert_one_line_error(&run(args).await, needle);
    }
    // The refused update changed nothing.
    let still = env.cli_json(&["client", "get", "acme", &id]).await;
    assert_eq!(still["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(still["jwks"], set);
}
both_backends!(client_auth_methods, super::client_auth_methods);
