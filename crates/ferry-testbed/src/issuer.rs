//! An OIDC issuer for tests and benchmarks: an RSA key, its JWKS served on 127.0.0.1, and access tokens
//! carrying the groups claim — what Keycloak or Cognito would issue. (moto's Cognito signs
//! tokens without `cognito:groups`, so they cannot stand in for real ones.)

use axum::Json;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::json;

pub const AUDIENCE: &str = "ferry-web";

pub struct TestIssuer {
    pub issuer: String,
    pub jwks_url: String,
    key: EncodingKey,
}

impl TestIssuer {
    pub async fn start() -> Self {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let public = private.to_public_key();
        let jwks = json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "test-key",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }]});
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                let jwks = jwks.clone();
                async move { Json(jwks) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let pem = private.to_pkcs8_pem(Default::default()).unwrap();
        Self {
            issuer: format!("http://{addr}"),
            jwks_url: format!("http://{addr}/.well-known/jwks.json"),
            key: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        }
    }

    pub fn token(&self, sub: &str, groups: &[&str]) -> String {
        let now = chrono::Utc::now().timestamp();
        self.token_with(json!({
            "sub": sub, "groups": groups, "iat": now, "exp": now + 900,
        }))
    }

    /// A token with these claims, plus the issuer's and the audience's.
    pub fn token_with(&self, mut claims: serde_json::Value) -> String {
        claims["iss"] = json!(self.issuer);
        claims["aud"] = json!(AUDIENCE);
        claims["token_use"] = json!("access");
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("test-key".into());
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}
