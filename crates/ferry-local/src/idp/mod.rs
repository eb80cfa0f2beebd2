//! ferry-local's OpenID Connect provider, for the one public client `ferry-web`: discovery,
//! JWKS, authorization code with PKCE (S256), refresh with rotation, userinfo, logout, and an
//! account page for TOTP and password changes; and the client-credentials grant for the
//! machine clients that admins create. Users live in [`LocalUsers`]; short-lived state
//! (codes, login tickets, account sessions) lives in memory, bounded.

mod account;
mod authorize;
mod discovery;
mod ephemeral;
mod keys;
mod logout;
mod machine;
mod pages;
mod params;
mod token;
mod trail;

#[cfg(test)]
mod tests;

use crate::clients::LocalClients;
use crate::users::LocalUsers;
use anyhow::Context;
use async_trait::async_trait;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{get, post};
use ephemeral::Ephemeral;
use ferry_core::auth::jwks::JwksFetcher;
use ferry_core::ids::UserId;
use ferry_core::limits::{Action, RateLimiter, Subject};
use ferry_core::model::User;
use ferry_core::ports::{Catalog, UserDirectory};
use jsonwebtoken::jwk::JwkSet;
use keys::SigningKey;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The one client: the web portal, a public client (no secret, PKCE instead).
pub const CLIENT_ID: &str = "ferry-web";
/// Lifetime of access and ID tokens, in seconds.
pub const ACCESS_TTL_SECS: u64 = 15 * 60;
const CODE_TTL: Duration = Duration::from_secs(60);
const TICKET_TTL: Duration = Duration::from_secs(5 * 60);
const SESSION_TTL: Duration = Duration::from_secs(30 * 60);
/// Per map. Reaching it pushes out the oldest entries, it never grows memory further.
const MAX_ENTRIES: usize = 10_000;
/// Forms here are a few fields; nothing bigger needs to be read.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct LocalIdp {
    issuer: String,
    public_url: String,
    redirect_uri: String,
    secure_cookies: bool,
    key: SigningKey,
    jwks: Arc<StaticJwks>,
    users: Arc<LocalUsers>,
    clients: Arc<LocalClients>,
    codes: Ephemeral<authorize::CodeGrant>,
    tickets: Ephemeral<authorize::LoginTicket>,
    sessions: Ephemeral<account::Session>,
    limiter: Option<Arc<dyn RateLimiter>>,
    audit: Option<Arc<dyn Catalog>>,
}

/// Our own keys, straight from memory: the API verifies local tokens without an HTTP round trip.
struct StaticJwks(JwkSet);

#[async_trait]
impl JwksFetcher for StaticJwks {
    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        Ok(self.0.clone())
    }
}

impl LocalIdp {
    /// `issuer` is `{public_url}/oidc`; the signing key is kept in `data_dir`.
    pub fn new(
        issuer: String,
        public_url: String,
        data_dir: &Path,
        users: Arc<LocalUsers>,
        clients: Arc<LocalClients>,
    ) -> anyhow::Result<Self> {
        let public_url = public_url.trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&public_url)
            .with_context(|| format!("the public URL '{public_url}' is not a URL"))?;
        let key = SigningKey::load_or_create(data_dir)?;
        let jwks = Arc::new(StaticJwks(key.jwk_set()?));
        Ok(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            redirect_uri: format!("{public_url}/auth/callback"),
            secure_cookies: parsed.scheme() == "https",
            public_url,
            key,
            jwks,
            users,
            clients,
            codes: Ephemeral::new(CODE_TTL, MAX_ENTRIES),
            tickets: Ephemeral::new(TICKET_TTL, MAX_ENTRIES),
            sessions: Ephemeral::new(SESSION_TTL, MAX_ENTRIES),
            limiter: None,
            audit: None,
        })
    }

    /// Counts sign-in attempts (password and one-time code) per address and per account.
    pub fn with_rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Writes sign-ins, refused ones and account changes to the audit trail.
    pub fn with_audit(mut self, catalog: Arc<dyn Catalog>) -> Self {
        self.audit = Some(catalog);
        self
    }

    /// Counts one more sign-in attempt from `ip` on `account`; the 429 page saying when to
    /// retry where that is one too many.
    fn sign_in_refusal(&self, ip: Option<&str>, account: &str) -> Option<Response> {
        let limiter = self.limiter.as_ref()?;
        let subjects = ip
            .map(Subject::Ip)
            .into_iter()
            .chain((!account.is_empty()).then_some(Subject::Account(account)));
        for subject in subjects {
            if let Err(limited) = limiter.check(Action::SignIn, subject) {
                tracing::info!("a sign-in was refused: too many attempts");
                return Some(pages::too_many(&limited));
            }
        }
        None
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `kid` of the signing key (stable across restarts).
    pub fn key_id(&self) -> &str {
        self.key.kid()
    }

    pub fn jwks_fetcher(&self) -> Arc<dyn JwksFetcher> {
        self.jwks.clone()
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(
                "/oidc/.well-known/openid-configuration",
                get(discovery::configuration),
            )
            .route("/oidc/jwks.json", get(discovery::jwks))
            .route(
                "/oidc/authorize",
                get(authorize::show).post(authorize::login),
            )
            .route("/oidc/authorize/otp", post(authorize::otp))
            .route("/oidc/token", post(token::token))
            .route("/oidc/userinfo", get(token::userinfo))
            .route("/oidc/logout", get(logout::logout))
            .route("/oidc/account", get(account::show))
            .route("/oidc/account/login", post(account::login))
            .route("/oidc/account/totp", post(account::start_totp))
            .route("/oidc/account/totp/confirm", post(account::confirm_totp))
            .route("/oidc/account/password", post(account::change_password))
            .route("/oidc/account/logout", post(account::logout))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(self)
    }

    /// The user, if they still exist and are enabled: checked at every step, so an admin's
    /// change takes effect at once.
    async fn enabled_user(&self, id: &UserId) -> anyhow::Result<Option<User>> {
        Ok(self.users.get(id).await?.filter(|u| u.enabled))
    }
}
