//! The token endpoint (authorization code with PKCE, refresh with rotation) and userinfo. Tokens
//! are RS256 JWTs that the API verifies like any other issuer's: `iss`, `aud`/`client_id`,
//! `exp`, `token_use`, and the roles in `groups`.

use super::authorize::{DEFAULT_SCOPE, is_pkce_text};
use super::params::Params;
use super::{ACCESS_TTL_SECS, CLIENT_ID, LocalIdp};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_core::ids::UserId;
use ferry_core::model::User;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

#[derive(Debug)]
pub(super) enum TokenError {
    /// An OAuth error the client can act on (RFC 6749 §5.2).
    Refused {
        error: &'static str,
        description: &'static str,
    },
    /// The client's own credentials are wrong: 401, as RFC 6749 §5.2 asks.
    InvalidClient,
    Unexpected(anyhow::Error),
}

impl From<anyhow::Error> for TokenError {
    fn from(e: anyhow::Error) -> Self {
        Self::Unexpected(e)
    }
}

pub(super) fn refused(error: &'static str, description: &'static str) -> TokenError {
    TokenError::Refused { error, description }
}

fn invalid_grant(description: &'static str) -> TokenError {
    refused("invalid_grant", description)
}

/// Token responses hold secrets: no cache may keep them.
pub(super) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let (status, error, description) = match self {
            Self::Refused { error, description } => (StatusCode::BAD_REQUEST, error, description),
            Self::InvalidClient => {
                let mut response = no_store(
                    (
                        StatusCode::UNAUTHORIZED,
                        Json(json!({
                            "error": "invalid_client",
                            "error_description": "the client id or secret is wrong",
                        })),
                    )
                        .into_response(),
                );
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"ferry\""),
                );
                return response;
            }
            Self::Unexpected(e) => {
                tracing::error!(error = %format!("{e:#}"), "the token endpoint failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the request could not be completed",
                )
            }
        };
        no_store(
            (
                status,
                Json(json!({ "error": error, "error_description": description })),
            )
                .into_response(),
        )
    }
}

#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    token_use: &'a str,
    scope: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
    email: &'a str,
    name: &'a str,
    groups: Vec<&'static str>,
}

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    email: &'a str,
    name: &'a str,
    groups: Vec<&'static str>,
    token_use: &'a str,
}

#[derive(Serialize)]
pub(super) struct TokenResponse {
    pub(super) access_token: String,
    /// Only where a person signed in: a machine client gets neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) refresh_token: Option<String>,
    pub(super) token_type: &'static str,
    pub(super) expires_in: u64,
    pub(super) scope: String,
}

fn groups(user: &User) -> Vec<&'static str> {
    user.roles.iter().map(|r| r.as_str()).collect()
}

/// An access token and an ID token for `user`.
fn mint(
    idp: &LocalIdp,
    user: &User,
    scope: &str,
    nonce: Option<&str>,
) -> anyhow::Result<(String, String)> {
    let iat = jsonwebtoken::get_current_timestamp();
    let exp = iat + ACCESS_TTL_SECS;
    let access = AccessClaims {
        iss: &idp.issuer,
        sub: user.id.as_str(),
        aud: CLIENT_ID,
        client_id: CLIENT_ID,
        token_use: "access",
        scope,
        iat,
        exp,
        jti: uuid::Uuid::new_v4().to_string(),
        email: user.email.as_str(),
        name: &user.name,
        groups: groups(user),
    };
    let id = IdClaims {
        iss: &idp.issuer,
        sub: user.id.as_str(),
        aud: CLIENT_ID,
        iat,
        exp,
        nonce,
        email: user.email.as_str(),
        name: &user.name,
        groups: groups(user),
        token_use: "id",
    };
    // RFC 9068 names access tokens `at+jwt`, so one can never pass for an ID token.
    Ok((idp.key.sign("at+jwt", &access)?, idp.key.sign("JWT", &id)?))
}

pub(super) fn require<'a>(
    p: &'a Params,
    name: &str,
    missing: &'static str,
) -> Result<&'a str, TokenError> {
    p.get(name)
        .ok_or_else(|| refused("invalid_request", missing))
}

fn check_client(p: &Params) -> Result<(), TokenError> {
    match require(p, "client_id", "client_id is required")? {
        CLIENT_ID => Ok(()),
        _ => Err(invalid_grant("the grant was not issued to this client")),
    }
}

/// `POST /oidc/token`.
pub(super) async fn token(
    State(idp): State<Arc<LocalIdp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match exchange(&idp, &headers, &body).await {
        Ok(tokens) => no_store(Json(tokens).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn exchange(
    idp: &LocalIdp,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, TokenError> {
    let params =
        Params::parse(body).map_err(|_| refused("invalid_request", "the request is malformed"))?;
    match require(&params, "grant_type", "grant_type is required")? {
        "authorization_code" => redeem_code(idp, &params).await,
        "refresh_token" => refresh(idp, &params).await,
        "client_credentials" => super::machine::grant(idp, headers, &params).await,
        _ => Err(refused(
            "unsupported_grant_type",
            "use authorization_code, refresh_token or client_credentials",
        )),
    }
}

async fn redeem_code(idp: &LocalIdp, p: &Params) -> Result<TokenResponse, TokenError> {
    let code = require(p, "code", "code is required")?;
    let redirect_uri = require(p, "redirect_uri", "redirect_uri is required")?;
    let verifier = require(p, "code_verifier", "code_verifier is required")?;
    check_client(p)?;
    if !is_pkce_text(verifier, 43, 128) {
        return Err(refused(
            "invalid_request",
            "code_verifier must be 43 to 128 unreserved characters",
        ));
    }
    // The first redemption marks the code; whatever happens next, it is spent.
    let grant = idp.codes.update(code, |g| {
        if g.redeemed {
            Err(g.refresh_token.take())
        } else {
            g.redeemed = true;
            Ok(g.clone())
        }
    });
    let grant = match grant {
        None => return Err(invalid_grant("the code is invalid or expired")),
        Some(Err(issued)) => {
            // A replayed code: the tokens issued for it may be in the wrong hands.
            if let Some(token) = issued {
                idp.users.revoke_refresh(&token).await?;
            }
            tracing::warn!("an authorization code was presented twice");
            return Err(invalid_grant("the code was already used"));
        }
        Some(Ok(grant)) => grant,
    };
    if grant.request.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if !bool::from(
        computed
            .as_bytes()
            .ct_eq(grant.request.code_challenge.as_bytes()),
    ) {
        return Err(invalid_grant(
            "code_verifier does not match the code challenge",
        ));
    }
    let user = active_user(idp, &grant.user).await?;
    let (access_token, id_token) = mint(
        idp,
        &user,
        &grant.request.scope,
        grant.request.nonce.as_deref(),
    )?;
    let refresh_token = idp.users.issue_refresh(&user.id).await?;
    idp.codes
        .update(code, |g| g.refresh_token = Some(refresh_token.clone()));
    Ok(TokenResponse {
        access_token,
        id_token: Some(id_token),
        refresh_token: Some(refresh_token),
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        scope: grant.request.scope,
    })
}

async fn refresh(idp: &LocalIdp, p: &Params) -> Result<TokenResponse, TokenError> {
    let presented = require(p, "refresh_token", "refresh_token is required")?;
    check_client(p)?;
    let Some(rotated) = idp.users.redeem_refresh(presented).await? else {
        return Err(invalid_grant(
            "the refresh token is invalid, expired or revoked",
        ));
    };
    let (access_token, id_token) = mint(idp, &rotated.user, DEFAULT_SCOPE, None)?;
    Ok(TokenResponse {
        access_token,
        id_token: Some(id_token),
        refresh_token: Some(rotated.refresh_token),
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        scope: DEFAULT_SCOPE.to_owned(),
    })
}

async fn active_user(idp: &LocalIdp, id: &UserId) -> Result<User, TokenError> {
    idp.enabled_user(id)
        .await?
        .ok_or_else(|| invalid_grant("the user does not exist or is disabled"))
}

#[derive(Deserialize)]
struct VerifiedAccess {
    sub: String,
    #[serde(default)]
    token_use: Option<String>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn unauthorized() -> Response {
    no_store(
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
            Json(json!({ "error": "invalid_token" })),
        )
            .into_response(),
    )
}

/// `GET /oidc/userinfo`: the current claims of the bearer of one of our access tokens.
pub(super) async fn userinfo(State(idp): State<Arc<LocalIdp>>, headers: HeaderMap) -> Response {
    let Some(claims) = bearer(&headers)
        .and_then(|t| idp.key.verify::<VerifiedAccess>(t, &idp.issuer, CLIENT_ID))
        .filter(|c| c.token_use.as_deref() == Some("access"))
    else {
        return unauthorized();
    };
    let Some(id) = UserId::parse(&claims.sub) else {
        return unauthorized();
    };
    match idp.enabled_user(&id).await {
        Ok(Some(user)) => no_store(
            Json(json!({
                "sub": user.id.as_str(),
                "email": user.email.as_str(),
                "name": user.name,
                "groups": groups(&user),
            }))
            .into_response(),
        ),
        Ok(None) => unauthorized(),
        Err(e) => TokenError::Unexpected(e).into_response(),
    }
}
