//! What a client reads before it signs anyone in: the discovery document and the public keys.

use super::LocalIdp;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ferry_core::auth::oidc::MACHINE_SCOPE;
use serde_json::json;
use std::sync::Arc;

fn cacheable(mut response: Response) -> Response {
    // Short enough that a new key (a new data dir behind the same URL) is picked up soon.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// `GET /oidc/.well-known/openid-configuration`.
pub(super) async fn configuration(State(idp): State<Arc<LocalIdp>>) -> Response {
    let issuer = idp.issuer.as_str();
    cacheable(
        Json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks.json"),
            "end_session_endpoint": format!("{issuer}/logout"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile", MACHINE_SCOPE],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "name", "groups"],
            "authorization_response_iss_parameter_supported": true,
        }))
        .into_response(),
    )
}

/// `GET /oidc/jwks.json`: the public half of the signing key, nothing else.
pub(super) async fn jwks(State(idp): State<Arc<LocalIdp>>) -> Response {
    cacheable(Json(idp.key.jwks_json()).into_response())
}
