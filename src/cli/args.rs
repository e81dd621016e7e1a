//! The clap definitions of the admin command groups (`tenant`, `client`, `user`, `keys`,
//! `audit`, `api-key`): what each takes, with its help text. `main.rs` holds the top-level
//! command and dispatch; the handler of each group is its own file beside this one.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use gatehouse::ids::ClientId;
use gatehouse::model::{
    ApiRole, ClientMfaPolicy, MfaMethod, RegistrationMfaSetup, ResetEmailOnly, SigningAlg,
    TenantMfaPolicy, TokenAuthMethod, TrustPolicy,
};

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Newest events first.
    List {
        tenant: String,
        /// Only this user's events.
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand)]
pub(crate) enum ApiKeyCommand {
    /// A new key, printed once (`{"id","key"}` with --json); send it as `Authorization: Bearer`.
    Create {
        /// Only this tenant (required for tenant-admin).
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        role: ApiRole,
        /// A note for the listing (who or what uses it).
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Every key: id, tenant, role, created, last used, revoked.
    List,
    /// Revoke a key: it stops working at once.
    Revoke { id: String },
}

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Show kid, algorithm, state and dates of every key (each tenant has its own).
    List {
        /// Only this tenant's keys (default: every tenant's).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Make a new key active and retire the old one after the longest token lifetime.
    Rotate {
        /// Only this tenant's keys (default: every tenant's).
        #[arg(long)]
        tenant: Option<String>,
        /// Only this algorithm (default: all).
        #[arg(long)]
        alg: Option<SigningAlg>,
        /// Only publish a `next` key (promote it with a later plain rotate).
        #[arg(long)]
        stage: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum SecretsCommand {
    /// Seal the signing keys and TOTP seeds again under the current `secrets.key` (after the
    /// old key moved to `secrets.previous`); prints how many were re-sealed.
    Reseal,
}

#[derive(Subcommand)]
pub(crate) enum TenantCommand {
    Create {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "optional")]
        mfa: TenantMfaPolicy,
        #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
        prompt_enrollment: bool,
    },
    Update {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        mfa: Option<TenantMfaPolicy>,
        #[arg(long, action = clap::ArgAction::Set)]
        prompt_enrollment: Option<bool>,
        /// Lifetime of "Trust this device" in days (0 hides the checkbox).
        #[arg(long)]
        trusted_device_days: Option<i64>,
        #[arg(long)]
        theme: Option<String>,
        /// Methods users may enrol, comma-separated (totp, email, sms, webauthn).
        #[arg(long, value_delimiter = ',')]
        mfa_methods: Option<Vec<MfaMethod>>,
        /// Recovery codes per user (1-16).
        #[arg(long)]
        recovery_codes: Option<i64>,
        /// Give a fresh recovery code right after one is used.
        #[arg(long, action = clap::ArgAction::Set)]
        recovery_replace_on_use: Option<bool>,
        /// Prove the mailbox before enrolling at sign-in: email | none.
        #[arg(long)]
        enrollment_proof: Option<String>,
        /// Wrong codes allowed in one sign-in before it ends.
        #[arg(long)]
        mfa_max_attempts: Option<i64>,
        /// Changes on the account pages need a sign-in at most this many seconds old.
        #[arg(long)]
        account_reauth_secs: Option<i64>,
        /// The region a phone number typed without `+` is read in (US, GB, ...).
        #[arg(long)]
        sms_default_region: Option<String>,
        /// Country calling codes SMS codes may go to, comma-separated (1,44); default: the
        /// default region's.
        #[arg(long, value_delimiter = ',')]
        sms_allowed_countries: Option<Vec<u16>>,
        /// Offer "Create an account" on the sign-in page.
        #[arg(long, action = clap::ArgAction::Set)]
        registration: Option<bool>,
        /// After a registration's email verification: off, optional (with Skip) or required.
        #[arg(long)]
        registration_mfa_setup: Option<RegistrationMfaSetup>,
        /// Whether a user whose only second factor is the emailed code may reset the password
        /// by mail: allow or forbid.
        #[arg(long)]
        password_reset_email_only: Option<ResetEmailOnly>,
        /// Offer "Sign in with a passkey" (and passkey autofill) on the sign-in page.
        #[arg(long, action = clap::ArgAction::Set)]
        passkeys_passwordless: Option<bool>,
    },
    /// One tenant's settings, with its SMS sends and failures of the last 24 hours.
    Get {
        slug: String,
    },
    /// MFA adoption: users enrolled, by method, and the last 7 and 30 days of sign-ins.
    MfaReport {
        slug: String,
    },
    List,
}

#[derive(Args)]
pub(crate) struct ClientCreate {
    pub(crate) tenant: String,
    #[arg(long = "redirect-uri", required = true)]
    pub(crate) redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    pub(crate) post_logout_redirect_uris: Vec<String>,
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// A public client (no secret; PKCE S256 required).
    #[arg(long)]
    pub(crate) public: bool,
    /// Skip the consent screen for this client.
    #[arg(long)]
    pub(crate) first_party: bool,
    #[arg(long, default_value = "inherit")]
    pub(crate) mfa_policy: ClientMfaPolicy,
    #[arg(long, default_value = "any")]
    pub(crate) trust_policy: TrustPolicy,
    #[arg(long, default_value = "RS256")]
    pub(crate) id_token_alg: SigningAlg,
    /// What its access tokens (RFC 9068 JWTs) are signed with: RS256, ES256 or EdDSA.
    #[arg(long, default_value = "RS256")]
    pub(crate) access_token_alg: SigningAlg,
    #[arg(long)]
    pub(crate) access_token_ttl: Option<i64>,
    #[arg(long)]
    pub(crate) id_token_ttl: Option<i64>,
    #[arg(long)]
    pub(crate) refresh_token_ttl: Option<i64>,
    /// Scopes the client may request with client_credentials, space-separated ("read write").
    /// Without it client_credentials issues only tokens without scope.
    #[arg(long)]
    pub(crate) scope: Option<String>,
    /// Allow `offline_access`: refresh tokens that survive logout (OIDC Core §11). Without it
    /// every refresh token ends with the sign-in session it came from.
    #[arg(long)]
    pub(crate) offline_access: bool,
    /// An exact origin (https://app.example.com) of a browser application that calls the
    /// token, userinfo, revocation or introspection endpoint; repeatable. No wildcards.
    #[arg(long = "web-origin")]
    pub(crate) web_origins: Vec<String>,
    /// Back-Channel Logout: where Gatehouse POSTs a logout token when a sign-in session this
    /// client got tokens in ends.
    #[arg(long)]
    pub(crate) backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in the logout token (Gatehouse always sends it).
    #[arg(long)]
    pub(crate) backchannel_logout_session_required: bool,
    #[command(flatten)]
    pub(crate) auth: ClientAuthArgs,
}

/// How the client authenticates at /token, /revoke and /introspect (OIDC Core §9).
#[derive(Args)]
pub(crate) struct ClientAuthArgs {
    /// client_secret_basic (default for confidential clients), client_secret_post,
    /// private_key_jwt (with --jwks-file or --jwks-uri), or none (public clients only).
    #[arg(long)]
    pub(crate) token_endpoint_auth_method: Option<TokenAuthMethod>,
    /// private_key_jwt: a file holding the client's public keys as a JWK Set (RFC 7517).
    #[arg(long, value_name = "PATH", conflicts_with = "jwks_uri")]
    pub(crate) jwks_file: Option<PathBuf>,
    /// private_key_jwt: where the client publishes its JWK Set (https; http on loopback).
    #[arg(long, value_name = "URL")]
    pub(crate) jwks_uri: Option<String>,
}

/// Every option is a change; one left out stays as it is. Each is checked as `client create`
/// checks it.
#[derive(Args)]
pub(crate) struct ClientUpdate {
    pub(crate) tenant: String,
    /// Generated client ids may begin with `-`: taken as the value, not as a flag.
    #[arg(allow_hyphen_values = true)]
    pub(crate) client_id: ClientId,
    /// Replaces the redirect URIs (repeatable; the ones not given stop working at once).
    #[arg(long = "redirect-uri")]
    pub(crate) redirect_uris: Vec<String>,
    /// Replaces the post-logout redirect URIs (repeatable; "" alone: none).
    #[arg(long = "post-logout-redirect-uri")]
    pub(crate) post_logout_redirect_uris: Vec<String>,
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Skip the consent screen for this client (true) or ask again (false).
    #[arg(long, value_name = "true|false")]
    pub(crate) first_party: Option<bool>,
    #[arg(long)]
    pub(crate) mfa_policy: Option<ClientMfaPolicy>,
    #[arg(long)]
    pub(crate) trust_policy: Option<TrustPolicy>,
    #[arg(long)]
    pub(crate) id_token_alg: Option<SigningAlg>,
    /// What its access tokens are signed with from now on: RS256, ES256 or EdDSA (tokens
    /// already issued keep working).
    #[arg(long)]
    pub(crate) access_token_alg: Option<SigningAlg>,
    #[arg(long)]
    pub(crate) access_token_ttl: Option<i64>,
    #[arg(long)]
    pub(crate) id_token_ttl: Option<i64>,
    #[arg(long)]
    pub(crate) refresh_token_ttl: Option<i64>,
    /// Scopes for client_credentials, space-separated; "" for none.
    #[arg(long)]
    pub(crate) scope: Option<String>,
    #[arg(long, value_name = "true|false")]
    pub(crate) offline_access: Option<bool>,
    /// Replaces the web origins (repeatable; "" alone: none).
    #[arg(long = "web-origin")]
    pub(crate) web_origins: Vec<String>,
    /// "" removes it.
    #[arg(long)]
    pub(crate) backchannel_logout_uri: Option<String>,
    #[arg(long, value_name = "true|false")]
    pub(crate) backchannel_logout_session_required: Option<bool>,
    #[command(flatten)]
    pub(crate) auth: ClientAuthArgs,
}

#[derive(Subcommand)]
pub(crate) enum ClientCommand {
    Create(ClientCreate),
    /// Change a client: its redirect URIs, policies, lifetimes, how it authenticates ...
    Update(ClientUpdate),
    /// Show one client (never its secret).
    Get {
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        client_id: ClientId,
    },
    List {
        tenant: String,
    },
    /// Replace a confidential client's secret (the new one is printed once).
    RotateSecret {
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        client_id: ClientId,
    },
    /// Delete a client; its grants are revoked first.
    Delete {
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        client_id: ClientId,
    },
}

// Parsed once per run: the size of the `update` variant (its profile flags) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum UserCommand {
    Create {
        tenant: String,
        email: String,
        /// Read the password from standard input (prompted without echo on a terminal).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email_verified: bool,
        /// A mobile number (E.164, or national in the tenant's SMS default region).
        #[arg(long)]
        phone: Option<String>,
        /// The number is known to be the user's.
        #[arg(long)]
        phone_verified: bool,
    },
    /// Changes a user's profile (the OIDC standard claims, phone number) or locks the account.
    /// An empty value removes that field.
    Update {
        tenant: String,
        email: String,
        #[command(flatten)]
        profile: ProfileArgs,
        /// A mobile number; an empty value removes it. A new number is unverified unless
        /// `--phone-verified true`.
        #[arg(long)]
        phone: Option<String>,
        #[arg(long, action = clap::ArgAction::Set)]
        phone_verified: Option<bool>,
        /// The email address is known to be the user's (true) or must be proven again (false).
        #[arg(long, action = clap::ArgAction::Set)]
        email_verified: Option<bool>,
        /// Lock (true: no sign-in, every session and grant ends) or unlock the account.
        #[arg(long, action = clap::ArgAction::Set)]
        locked: Option<bool>,
        /// Demand a new password at the next sign-in (`--require-password-change false`
        /// withdraws it).
        #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
        require_password_change: Option<bool>,
    },
    /// Deletes a user, their factors and sessions; their grants are revoked first.
    Delete {
        tenant: String,
        email: String,
    },
    List {
        tenant: String,
    },
    /// The admin "Reset MFA": removes every factor, recovery code and trusted device.
    MfaReset {
        tenant: String,
        email: String,
    },
}

/// The profile flags of `user update` (OIDC Core §5.1 claims; checked by `profile::validate`).
#[derive(Args)]
pub(crate) struct ProfileArgs {
    /// Full name (`name`).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The sign-in username, released as `preferred_username`.
    #[arg(long)]
    pub(crate) username: Option<String>,
    #[arg(long)]
    pub(crate) given_name: Option<String>,
    #[arg(long)]
    pub(crate) family_name: Option<String>,
    #[arg(long)]
    pub(crate) middle_name: Option<String>,
    #[arg(long)]
    pub(crate) nickname: Option<String>,
    /// URL of the user's profile page (the `profile` claim; http or https).
    #[arg(long, value_name = "URL")]
    pub(crate) profile_url: Option<String>,
    /// URL of the user's picture (http or https).
    #[arg(long, value_name = "URL")]
    pub(crate) picture: Option<String>,
    #[arg(long, value_name = "URL")]
    pub(crate) website: Option<String>,
    #[arg(long)]
    pub(crate) gender: Option<String>,
    /// YYYY or YYYY-MM-DD (0000-MM-DD withholds the year).
    #[arg(long)]
    pub(crate) birthdate: Option<String>,
    /// A time zone name (Europe/Paris).
    #[arg(long)]
    pub(crate) zoneinfo: Option<String>,
    /// A BCP 47 language tag (fr-CA).
    #[arg(long)]
    pub(crate) locale: Option<String>,
    /// The postal address as a JSON object: formatted, street_address, locality, region,
    /// postal_code, country (strings); `{}` or "" removes it.
    #[arg(long, value_name = "JSON")]
    pub(crate) address_json: Option<String>,
}

impl ProfileArgs {
    pub(crate) fn into_edit(self) -> gatehouse::profile::ProfileEdit {
        gatehouse::profile::ProfileEdit {
            name: self.name,
            username: self.username,
            given_name: self.given_name,
            family_name: self.family_name,
            middle_name: self.middle_name,
            nickname: self.nickname,
            profile: self.profile_url,
            picture: self.picture,
            website: self.website,
            gender: self.gender,
            birthdate: self.birthdate,
            zoneinfo: self.zoneinfo,
            locale: self.locale,
            address: self.address_json,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// A console admin: a user of the system tenant (MFA required: they set up a factor at
    /// their first sign-in to /admin), of every tenant, or with --tenant of that one only.
    /// An existing admin gets the new password and scope.
    Create {
        email: String,
        /// Read the password from standard input (prompted without echo on a terminal).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Admin of this tenant only (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}
