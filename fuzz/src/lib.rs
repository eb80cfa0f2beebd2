//! What the fuzz targets share: a Ferry on the in-memory adapters, a fixed identity provider
//! key with one token it signed, a recipient token and an access link token that verify, and the
//! checks of a problem+json response.

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use ferry_core::auth::jwks::{JwksCache, JwksFetcher};
use ferry_core::auth::oidc::{OidcConfig, OidcVerifier};
use ferry_core::auth::recipient::RecipientTokens;
use ferry_core::auth::{AuthUser, RecipientGrant};
use ferry_core::config::{Settings, UserSource};
use ferry_core::ids::{TransferId, UserId};
use ferry_core::memory::{ManualClock, MemoryStore};
use ferry_core::model::Transfer;
use ferry_core::services::transfers::{NewFile, NewTransfer};
use ferry_core::services::{Ferry, Ports};
use ferry_core::values::{EmailAddress, Role};
use jsonwebtoken::jwk::JwkSet;
use std::future::Future;
use std::sync::Arc;

pub const ISSUER: &str = "https://issuer.example";
pub const AUDIENCE: &str = "ferry-web";
pub const KID: &str = "fuzz-1";

/// The public half of an RSA key made for the fuzz targets; its private half was thrown away
/// once it had signed [`OIDC_TOKEN`], so nothing else can ever verify.
const JWK_N: &str = "2HnIsbeXXSrHpp-upzes1p2oNyE36vcv7-_1a1b0P_hXD0X4Wjcm6SZOGwATBhsi4LpDtmuruF6uQ3Sl7XBuJ9JPreDZzi5jSdj-SZDLtUJ55-idLQ4CSNfY_DhiIJ161bCJhULmSKcXYnNy1uVtdRk9Zn7AsGMzgG4R5JAlm9e2UHRifOFldkbgsJ46Qht7gIfeOukV_ykjXSeLLQkLp7Gw0LPeKVHwwNlnXh9rwcO9vfPIPZHxjiQz-CNUeYdPK0q03NA00kvY1vwpltw8D78iqKWYVwuurvwaiAURdobzNK03IqXKzfNs2XxAjFLygdL0ahBNF3fUZNZh2nycUQ";
const JWK_E: &str = "AQAB";

/// An access token for a member and admin `fuzz-user`, valid until 2100.
pub const OIDC_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6ImZ1enotMSJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoiZmVycnktd2ViIiwic3ViIjoiZnV6ei11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3NjcyMjU2MDAsInRva2VuX3VzZSI6ImFjY2VzcyIsImVtYWlsIjoiYWxpY2VAZXhhbXBsZS5vcmciLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZSwibmFtZSI6IkFsaWNlIiwiZ3JvdXBzIjpbIm1lbWJlciIsImFkbWluIl19.o3S253_p7OQOxjJ74b5BxlqNj1ibLTTHil8vWB-DHUBkU3kQk1wIJ1YIVXZVrvrYQ0D5_TKNOH4RlrlfYlK-5jGYw1Vi16iYgI5yqbySPUs284gcpVy-UjtOsDaInBA6f304zwo9Spr8mKcD_9B4TAeVYJrZLmEecJTs6pS9YCeajMo1_3CRSVm07xnQROHPul0O_r_U05m-zn_eidAblTNdIMFFNVk8V6KB1PxVq0FSRkncjptu-UfcoSosZiM_F0jD-t0Eo2akh5dOYWzQNblWYgL118ntnvGLMG3y1XWsqRpDUoHb02lL75TznCGeN-T129p0g1f5c0tOlwZOJQ";

/// The recipient token secret; tokens are issued at a fixed time so that the seed corpus can
/// hold one that verifies.
pub const RECIPIENT_SECRET: &[u8; 32] = b"ferry-fuzz-recipient-secret-0001";
/// The transfer the issued recipient token is bound to.
pub const RECIPIENT_TRANSFER: &str = "0190f5d4-8a6e-7c3b-9e21-5f0d6c2b1a47";
pub const RECIPIENT_EMAIL: &str = "bob@example.com";

/// An access link token (256 bits, URL-safe base64) that the token target hands to the harness
/// transfer's recipient.
pub const LINK_TOKEN: &str = "sbG9tIDGHQdTANm_99nLac8xaV6gSOR4-srfQm6ND7A";

/// Runs a future on a current-thread runtime kept for the whole process.
pub fn block_on<F: Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
    }
    RUNTIME.with(|rt| rt.block_on(future))
}

struct FixedKeys;

#[async_trait]
impl JwksFetcher for FixedKeys {
    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        Ok(serde_json::from_value(serde_json::json!({ "keys": [{
            "kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256", "n": JWK_N, "e": JWK_E,
        }] }))?)
    }
}

pub fn oidc_verifier() -> OidcVerifier {
    OidcVerifier::new(
        OidcConfig {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            ..OidcConfig::default()
        },
        Arc::new(JwksCache::new(
            Arc::new(FixedKeys),
            std::time::Duration::from_secs(3600),
        )),
    )
}

pub fn recipient_tokens() -> RecipientTokens {
    RecipientTokens::new(RECIPIENT_SECRET, Duration::minutes(30))
}

/// The one recipient token the targets accept: issued "at" 2099-12-31 for 30 minutes.
pub fn issued_recipient_token(tokens: &RecipientTokens) -> String {
    let grant = RecipientGrant {
        transfer_id: TransferId::parse(RECIPIENT_TRANSFER).expect("a transfer id"),
        email: EmailAddress::parse(RECIPIENT_EMAIL).expect("an email address"),
    };
    let at = Utc
        .with_ymd_and_hms(2099, 12, 31, 0, 0, 0)
        .single()
        .expect("a date");
    tokens.issue(&grant, at).expect("an issued token")
}

/// A Ferry on the in-memory adapters, with one transfer of two documents awaiting upload.
pub struct Harness {
    pub ferry: Arc<Ferry>,
    /// The object store under `ferry`, to put bytes where an upload would.
    pub store: Arc<MemoryStore>,
    pub sender: AuthUser,
    pub transfer: Transfer,
    /// A recipient token for `transfer`, issued now.
    pub recipient_token: String,
}

impl Harness {
    pub fn new() -> Self {
        let store = Arc::new(MemoryStore::default());
        let ferry = Arc::new(ferry_over(store.clone()));
        let sender = sender();
        let transfer = block_on(ferry.create_transfer(
            &sender,
            new_transfer(vec![
                new_file("report.pdf", "application/pdf"),
                new_file("figures.csv", "text/csv"),
            ]),
            None,
        ))
        .expect("the harness transfer");
        let recipient_token = ferry
            .recipient_tokens
            .issue(
                &RecipientGrant {
                    transfer_id: transfer.id,
                    email: EmailAddress::parse(RECIPIENT_EMAIL).expect("an email address"),
                },
                Utc::now(),
            )
            .expect("an issued token");
        Self {
            ferry,
            store,
            sender,
            transfer,
            recipient_token,
        }
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

/// The user [`OIDC_TOKEN`] signs in.
pub fn sender() -> AuthUser {
    AuthUser {
        id: UserId::parse("fuzz-user").expect("a user id"),
        email: EmailAddress::parse("alice@example.org").expect("an email address"),
        name: "Alice".into(),
        roles: vec![Role::Member, Role::Admin],
    }
}

/// The services over fresh in-memory adapters. Users come from the token, so the fixed
/// [`OIDC_TOKEN`] signs in without a directory entry; no rate limiter, so a long run is never
/// throttled into answering only 429.
pub fn ferry() -> Ferry {
    ferry_over(Arc::new(MemoryStore::default()))
}

fn ferry_over(store: Arc<MemoryStore>) -> Ferry {
    let ports = Ports::in_memory(store, Arc::new(ManualClock::new(Utc::now())));
    let mut settings = Settings::new("https://ferry.example.org");
    settings.users = UserSource::Token;
    Ferry::new(ports, settings, recipient_tokens(), oidc_verifier())
}

pub fn new_transfer(files: Vec<NewFile>) -> NewTransfer {
    NewTransfer {
        recipients: vec![RECIPIENT_EMAIL.into()],
        subject: "Figures".into(),
        message: None,
        expires_in_hours: None,
        files,
    }
}

pub fn new_file(name: &str, content_type: &str) -> NewFile {
    NewFile {
        name: name.into(),
        size: 1234,
        content_type: content_type.into(),
        // Any 16 bytes: nothing is uploaded.
        md5: Some("1B2M2Y8AsgTpgAmY7PhCfg==".into()),
    }
}

/// Panics unless `body` is an RFC 9457 problem whose `status` is `status`.
pub fn assert_problem(status: u16, content_type: Option<&str>, body: &[u8]) {
    assert_eq!(
        content_type,
        Some("application/problem+json"),
        "a {status} without problem+json: {}",
        String::from_utf8_lossy(body)
    );
    let value: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("a {status} problem body that is not JSON ({e})"));
    let field = |name: &str| {
        value
            .get(name)
            .unwrap_or_else(|| panic!("a {status} problem without {name}: {value}"))
    };
    let kind = field("type").as_str().expect("type is a string");
    assert!(kind.starts_with("urn:ferry:problem:"), "type {kind}");
    assert!(field("title").is_string(), "title is a string");
    assert!(field("detail").is_string(), "detail is a string");
    assert_eq!(field("status").as_u64(), Some(u64::from(status)));
}
