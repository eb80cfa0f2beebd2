//! One verifier for every issuer's access tokens: ferry-local's, Cognito's, Keycloak's. What
//! differs between them is configuration (issuer, audience, groups claim), never code.

use super::jwks::JwksCache;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;

/// The scope of machine clients' tokens: Cognito's resource server `ferry` with its scope
/// `transfers`, and ferry-local's identity provider alike.
pub const MACHINE_SCOPE: &str = "ferry/transfers";

#[derive(Clone, Debug)]
pub struct OidcConfig {
    pub issuer: String,
    /// Accepted in `aud` (Keycloak, ferry-local) or in `client_id` (Cognito access tokens
    /// carry no `aud`).
    pub audience: String,
    /// Where the roles are: `groups` (ferry-local, Keycloak with a mapper), `cognito:groups`.
    pub groups_claim: String,
    pub algorithms: Vec<Algorithm>,
    /// The scope that client-credentials tokens of Ferry's machine clients carry (`ferry/transfers`
    /// of Cognito's resource server). Such a token names its client in `client_id` and `sub`,
    /// not the web client: it is accepted here and its client must then be a registered one.
    pub machine_scope: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds; capped at 60.
    pub leeway_secs: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audience: String::new(),
            groups_claim: "groups".into(),
            algorithms: vec![Algorithm::RS256],
            machine_scope: None,
            leeway_secs: 30,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcClaims {
    pub sub: String,
    pub email: Option<String>,
    /// `email_verified` (a boolean, or the string "true" as Cognito writes it).
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub token_use: Option<String>,
    /// The machine client, when this is one's client-credentials token.
    pub machine_client: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is not acceptable; the reason is safe to show to its holder.
    #[error("{0}")]
    Invalid(String),
    /// The issuer's keys could not be fetched: not the caller's fault.
    #[error(transparent)]
    Unavailable(anyhow::Error),
}

pub struct OidcVerifier {
    config: OidcConfig,
    keys: Arc<JwksCache>,
}

#[derive(Deserialize)]
struct RawClaims {
    sub: String,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    token_use: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Self::One(a) => a == wanted,
            Self::Many(all) => all.iter().any(|a| a == wanted),
        }
    }
}

impl OidcVerifier {
    pub fn new(config: OidcConfig, keys: Arc<JwksCache>) -> Self {
        Self { config, keys }
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    pub async fn verify(&self, token: &str) -> Result<OidcClaims, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Invalid("it is not a JWT".into()))?;
        // The allow-list comes first: `none` and HMAC-with-the-public-key tricks end here.
        if !self.config.algorithms.contains(&header.alg) {
            return Err(AuthError::Invalid(format!(
                "the algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Invalid("the token names no signing key".into()))?;
        let jwk = self
            .keys
            .key(&kid)
            .await
            .map_err(AuthError::Unavailable)?
            .ok_or_else(|| AuthError::Invalid("the token's signing key is unknown".into()))?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| AuthError::Invalid("the issuer's key is unusable".into()))?;

        let mut validation = Validation::new(header.alg);
        validation.algorithms = self.config.algorithms.clone();
        validation.leeway = self.config.leeway_secs.min(60);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_nbf = true;
        // Audience is checked below: it may be in `aud` or in `client_id`.
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<RawClaims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::Invalid(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "it has expired",
                    ErrorKind::ImmatureSignature => "it is not valid yet",
                    ErrorKind::InvalidIssuer => "it was issued by someone else",
                    ErrorKind::InvalidSignature => "its signature does not match",
                    ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => {
                        "its claims are incomplete or malformed"
                    }
                    _ => "it could not be verified",
                }
                .into(),
            )
        })?;
        let claims = data.claims;
        let audience = &self.config.audience;
        let for_us = claims.aud.as_ref().is_some_and(|a| a.contains(audience))
            || claims.client_id.as_deref() == Some(audience.as_str());
        let machine_client = if for_us {
            None
        } else {
            self.machine_client(&claims)
        };
        if !for_us && machine_client.is_none() {
            return Err(AuthError::Invalid(
                "it was issued for another client".into(),
            ));
        }
        // ID tokens prove who signed in to a client; they are not for calling APIs.
        if claims.token_use.as_deref().is_some_and(|u| u != "access") {
            return Err(AuthError::Invalid("it is not an access token".into()));
        }
        let groups = match claims.rest.get(&self.config.groups_claim) {
            Some(serde_json::Value::Array(items)) => {
                let unique: HashSet<&str> = items.iter().filter_map(|v| v.as_str()).collect();
                let mut groups: Vec<String> = unique.into_iter().map(str::to_owned).collect();
                groups.sort();
                groups
            }
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        let email_verified = match claims.rest.get("email_verified") {
            Some(serde_json::Value::Bool(verified)) => *verified,
            Some(serde_json::Value::String(verified)) => verified == "true",
            _ => false,
        };
        Ok(OidcClaims {
            sub: claims.sub,
            email: claims.email,
            email_verified,
            name: claims.name,
            groups,
            token_use: claims.token_use,
            machine_client,
        })
    }

    /// The client of a client-credentials token with the machine scope: its own subject.
    fn machine_client(&self, claims: &RawClaims) -> Option<String> {
        let wanted = self.config.machine_scope.as_deref()?;
        let scoped = claims
            .scope
            .as_deref()
            .is_some_and(|s| s.split(' ').any(|granted| granted == wanted));
        let client = claims.client_id.as_deref()?;
        (scoped && client == claims.sub).then(|| client.to_owned())
    }
}

#[cfg(test)]
mod tests;
