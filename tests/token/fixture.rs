//! One tenant with a confidential and a public client and one user, plus helpers that speak to
//! the token, userinfo, revocation and introspection endpoints. Authorization codes are written
//! straight to the store, standing in for the hosted login.

use gatehouse::crypto::jwt::{self, Verified};
use gatehouse::crypto::random;
use gatehouse::store::codes::{self, AuthCode};
use gatehouse::store::sessions::{self, NewSession};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;

use crate::common::{Backend, TestServer};

pub const REDIRECT: &str = "https://app.example.com/cb";
pub const PUBLIC_REDIRECT: &str = "http://127.0.0.1:9000/cb";
pub const EMAIL: &str = "alice@example.com";
// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub secret: Option<String>,
}

/// How a client authenticates at the token, revocation and introspection endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    Basic,
    Post,
}

pub struct Fixture {
    pub srv: TestServer,
    pub tenant_id: gatehouse::ids::TenantId,
    pub issuer: String,
    pub conf: Creds,
    pub public: Creds,
    pub user_id: gatehouse::ids::UserId,
    /// A live SSO session of the user: codes name it, as the hosted login's codes do.
    pub session_id: String,
}

impl Fixture {
    pub async fn new(backend: Backend) -> Fixture {
        let srv = TestServer::start(backend).await;
        let tenant = srv.tenant("acme", &[]).await;
        let user = srv
            .env
            .cli_json_stdin(
                &[
                    "user",
                    "create",
                    "acme",
                    EMAIL,
                    "--password-stdin",
                    "--name",
                    "Alice Liddell",
                    "--username",
                    "alice",
                    "--email-verified",
                ],
                "correct horse battery staple",
            )
            .await;
        let mut f = Fixture {
            issuer: srv.issuer("acme"),
            tenant_id: tenant["id"].as_str().unwrap().into(),
            user_id: user["id"].as_str().unwrap().into(),
            conf: Creds {
                id: String::new(),
                secret: None,
            },
            public: Creds {
                id: String::new(),
                secret: None,
            },
            session_id: String::new(),
            srv,
        };
        f.session_id = f.new_session().await;
        f.conf = f.client(&["--scope", "api.read api.write"]).await;
        f.public = f.client(&["--public"]).await;
        f
    }

    /// Starts another live SSO session of the user (as a sign-in in another browser would)
    /// and returns its id.
    pub async fn new_session(&self) -> String {
        let now = gatehouse::model::now();
        let amr = vec!["pwd".to_string(), "otp".into(), "mfa".into()];
        let s = sessions::create(
            &self.srv.state.db,
            NewSession {
                token_hash: &random::sha256_hex(&random::token(32)),
                tenant_id: &self.tenant_id,
                user_id: &self.user_id,
                auth_time: now - 5,
                amr: &amr,
                acr: "mfa",
                mfa_time: Some(now - 5),
                user_agent: None,
                ip: None,
                now,
                expires_at: now + 3600,
            },
        )
        .await
        .unwrap();
        s.id
    }

    /// Registers another client of the tenant (`extra` CLI flags, e.g. `--id-token-alg ES256`).
    pub async fn client(&self, extra: &[&str]) -> Creds {
        let redirect = if extra.contains(&"--public") {
            PUBLIC_REDIRECT
        } else {
            REDIRECT
        };
        let mut args = vec!["client", "create", "acme", "--redirect-uri", redirect];
        args.extend_from_slice(extra);
        let c = self.srv.cli_json(&args).await;
        Creds {
            id: c["client_id"].as_str().unwrap().to_owned(),
            secret: c["client_secret"].as_str().map(str::to_owned),
        }
    }

    /// A fresh, unsaved code row for `client` with typical values; tests adjust it, then
    /// [`Fixture::store_code`] it. Returns the plain code and the row.
    pub fn code_row(&self, client: &Creds) -> (String, AuthCode) {
        let code = random::token(32);
        let now = gatehouse::model::now();
        let public = client.secret.is_none();
        let row = AuthCode {
            id: random::sha256_hex(&code),
            grant_id: uuid::Uuid::new_v4().to_string(),
            tenant_id: self.tenant_id.clone(),
            client_id: client.id.as_str().into(),
            user_id: self.user_id.clone(),
            session_id: Some(self.session_id.clone()),
            redirect_uri: if public { PUBLIC_REDIRECT } else { REDIRECT }.into(),
            scope: "openid email profile".into(),
            nonce: Some("n-0S6_WzA2Mj".into()),
            code_challenge: public.then(|| CHALLENGE.into()),
            code_challenge_method: public.then(|| "S256".into()),
            auth_time: now - 5,
            amr: r#"["pwd","otp","mfa"]"#.into(),
            acr: "mfa".into(),
            claims: None,
            created_at: now,
            expires_at: now + 60,
            used_at: None,
        };
        (code, row)
    }

    pub async fn store_code(&self, row: &AuthCode) {
        codes::create(&self.srv.state.db, row).await.unwrap();
    }

    /// Stores a typical code for `client` and returns it.
    pub async fn code(&self, client: &Creds) -> String {
        let (code, row) = self.code_row(client);
        self.store_code(&row).await;
        code
    }

    pub fn post(&self, endpoint: &str) -> RequestBuilder {
        self.srv.http().post(format!("{}/{endpoint}", self.issuer))
    }

    /// POSTs `form` to `endpoint` with the client's credentials (public clients send their id).
    pub async fn call(
        &self,
        endpoint: &str,
        client: &Creds,
        auth: Auth,
        form: &[(&str, &str)],
    ) -> Response {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        let mut req = self.post(endpoint);
        match (&client.secret, auth) {
            (Some(s), Auth::Basic) => req = req.basic_auth(&client.id, Some(s)),
            (Some(s), Auth::Post) => {
                form.push(("client_id", &client.id));
                form.push(("client_secret", s));
            }
            (None, _) => form.push(("client_id", &client.id)),
        }
        req.form(&form).send().await.unwrap()
    }

    pub async fn token(&self, client: &Creds, form: &[(&str, &str)]) -> Response {
        self.call("token", client, Auth::Basic, form).await
    }

    /// Redeems `code` for `client` and returns the successful response body.
    pub async fn exchange(&self, client: &Creds, code: &str) -> Value {
        let redirect = if client.secret.is_some() {
            REDIRECT
        } else {
            PUBLIC_REDIRECT
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
        ];
        if client.secret.is_none() {
            form.push(("code_verifier", VERIFIER));
        }
        ok(self.token(client, &form).await).await
    }

    pub async fn refresh(&self, client: &Creds, refresh_token: &str) -> Response {
        self.token(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    pub async fn introspect(&self, client: &Creds, token: &str) -> Value {
        ok(self
            .call("introspect", client, Auth::Basic, &[("token", token)])
            .await)
        .await
    }

    pub async fn is_active(&self, client: &Creds, token: &str) -> bool {
        self.introspect(client, token).await["active"] == true
    }

    pub async fn userinfo(&self, token: &str) -> Response {
        self.srv
            .http()
            .get(format!("{}/userinfo", self.issuer))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub fn verify(&self, token: &str) -> Verified {
        // Loaded when the fixture's tenant was first used.
        let keys = self
            .srv
            .state
            .keys
            .cached(&self.tenant_id)
            .expect("keys loaded");
        jwt::verify(&keys.set, token).expect("token verifies")
    }
}

/// A 200 with `Cache-Control: no-store` and `Pragma: no-cache`; returns the JSON body.
pub async fn ok(res: Response) -> Value {
    let status = res.status();
    assert_no_store(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub fn assert_no_store(res: &Response) {
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
}

/// An OAuth error response with exactly this status and `error` code; returns the body.
pub async fn assert_oauth_error(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_no_store(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("`{key}` in {v}"))
}
