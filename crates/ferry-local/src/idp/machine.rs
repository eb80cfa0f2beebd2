//! The client-credentials grant (RFC 6749 §4.4) for machine clients. Their access tokens look
//! like Cognito's: the client is the subject and `client_id`, there is no `aud`, no ID token and
//! no refresh token, and the scope is [`MACHINE_SCOPE`]. The API looks the client up on every
//! request, so deleting it or disabling its owner takes effect at once.

use super::params::Params;
use super::token::{TokenError, TokenResponse, refused};
use super::{ACCESS_TTL_SECS, LocalIdp};
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferry_core::auth::oidc::MACHINE_SCOPE;
use percent_encoding::percent_decode_str;
use serde::Serialize;

#[derive(Serialize)]
struct MachineClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    client_id: &'a str,
    token_use: &'a str,
    scope: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

/// `client_secret_basic`: both halves are form-encoded before they are joined (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, TokenError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || refused("invalid_request", "the Basic credentials are malformed");
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let form_decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|d| d.into_owned())
            .map_err(|_| malformed())
    };
    Ok(Some((form_decode(id)?, form_decode(secret)?)))
}

/// The client's credentials, from the Basic header or the form, never both.
fn credentials(headers: &HeaderMap, p: &Params) -> Result<(String, String), TokenError> {
    let in_form = (p.get("client_id"), p.get("client_secret"));
    match (basic_credentials(headers)?, in_form) {
        (Some(_), (_, Some(_))) => Err(refused(
            "invalid_request",
            "send the client secret once: in the Authorization header or in the form",
        )),
        (Some((id, secret)), (form_id, None)) => {
            if form_id.is_some_and(|f| f != id) {
                return Err(refused(
                    "invalid_request",
                    "client_id differs from the Authorization header's",
                ));
            }
            Ok((id, secret))
        }
        (None, (Some(id), Some(secret))) => Ok((id.to_owned(), secret.to_owned())),
        (None, _) => Err(TokenError::InvalidClient),
    }
}

pub(super) async fn grant(
    idp: &LocalIdp,
    headers: &HeaderMap,
    p: &Params,
) -> Result<TokenResponse, TokenError> {
    let (id, secret) = credentials(headers, p)?;
    if let Some(scope) = p.get("scope")
        && scope.split(' ').any(|s| s != MACHINE_SCOPE)
    {
        return Err(refused(
            "invalid_scope",
            "machine clients may ask only for the scope ferry/transfers",
        ));
    }
    let Some(client) = idp.clients.verify(&id, &secret).await? else {
        tracing::info!("a machine client presented wrong credentials");
        return Err(TokenError::InvalidClient);
    };
    // A client of a disabled or deleted user gets nothing to try its luck with.
    if idp.enabled_user(&client.owner).await?.is_none() {
        return Err(refused(
            "unauthorized_client",
            "the account this client acts for is disabled",
        ));
    }
    let iat = jsonwebtoken::get_current_timestamp();
    let claims = MachineClaims {
        iss: &idp.issuer,
        sub: &client.id,
        client_id: &client.id,
        token_use: "access",
        scope: MACHINE_SCOPE,
        iat,
        exp: iat + ACCESS_TTL_SECS,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    Ok(TokenResponse {
        access_token: idp.key.sign("at+jwt", &claims)?,
        id_token: None,
        refresh_token: None,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        scope: MACHINE_SCOPE.to_owned(),
    })
}
