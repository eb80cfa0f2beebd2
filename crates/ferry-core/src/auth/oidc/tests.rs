use super::*;
use crate::auth::jwks::JwksFetcher;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;

const ISSUER: &str = "https://issuer.example/realms/ferry";
const CLIENT: &str = "ferry-web";

struct TestKey {
    pem: String,
    jwks: JwkSet,
}

fn key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pem = private
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string();
        let jwks = serde_json::from_value(json!({ "keys": [{
            "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        }] }))
        .unwrap();
        TestKey { pem, jwks }
    })
}

struct Fixed;

#[async_trait]
impl JwksFetcher for Fixed {
    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        Ok(key().jwks.clone())
    }
}

fn verifier(groups_claim: &str) -> OidcVerifier {
    OidcVerifier::new(
        OidcConfig {
            issuer: ISSUER.into(),
            audience: CLIENT.into(),
            groups_claim: groups_claim.into(),
            ..OidcConfig::default()
        },
        Arc::new(JwksCache::new(Arc::new(Fixed), Duration::from_secs(60))),
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims() -> Value {
    json!({ "iss": ISSUER, "sub": "u-1", "aud": CLIENT, "exp": now() + 300, "iat": now(),
            "token_use": "access", "groups": ["member", "admin"], "email": "a@example.org" })
}

fn sign(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(key().pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut c = claims();
    change(c.as_object_mut().unwrap());
    sign(&c, "k1")
}

async fn refused(token: &str) -> String {
    match verifier("groups").verify(token).await {
        Err(AuthError::Invalid(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_good_token_gives_its_subject_and_groups() {
    let claims = verifier("groups")
        .verify(&sign(&claims(), "k1"))
        .await
        .unwrap();
    assert_eq!(claims.sub, "u-1");
    assert_eq!(
        claims.groups,
        vec!["admin".to_string(), "member".to_string()]
    );
    assert_eq!(claims.email.as_deref(), Some("a@example.org"));
}

#[tokio::test]
async fn cognito_access_tokens_are_checked_by_client_id_and_their_groups_claim() {
    let token = with(|c| {
        c.remove("aud");
        c.remove("groups");
        c.insert("client_id".into(), json!(CLIENT));
        c.insert("cognito:groups".into(), json!(["admin"]));
    });
    let claims = verifier("cognito:groups").verify(&token).await.unwrap();
    assert_eq!(claims.groups, vec!["admin".to_string()]);
}

#[tokio::test]
async fn client_credentials_tokens_with_the_machine_scope_name_their_client() {
    let machine = OidcVerifier::new(
        OidcConfig {
            issuer: ISSUER.into(),
            audience: CLIENT.into(),
            machine_scope: Some("ferry/transfers".into()),
            ..OidcConfig::default()
        },
        Arc::new(JwksCache::new(Arc::new(Fixed), Duration::from_secs(60))),
    );
    // As Cognito issues them: no aud, the client is the subject.
    let token = |client: &str, sub: &str, scope: &str| {
        with(|c| {
            c.remove("aud");
            c.remove("groups");
            c.insert("sub".into(), json!(sub));
            c.insert("client_id".into(), json!(client));
            c.insert("scope".into(), json!(scope));
        })
    };
    let verified = machine
        .verify(&token("c-1", "c-1", "other/x ferry/transfers"))
        .await
        .unwrap();
    assert_eq!(verified.machine_client.as_deref(), Some("c-1"));

    for (client, sub, scope) in [
        ("c-1", "c-1", "ferry/other"),
        ("c-1", "u-1", "ferry/transfers"),
        ("c-1", "c-1", "ferry/transfers2"),
    ] {
        let refused = machine.verify(&token(client, sub, scope)).await;
        assert!(
            matches!(&refused, Err(AuthError::Invalid(why)) if why.contains("another client")),
            "{client} {sub} {scope}: {refused:?}"
        );
    }
    // Without a machine scope configured, no client-credentials token passes.
    assert!(
        refused(&token("c-1", "c-1", "ferry/transfers"))
            .await
            .contains("another client")
    );
    // The web client's own tokens never count as a machine client's.
    let web = machine.verify(&sign(&claims(), "k1")).await.unwrap();
    assert_eq!(web.machine_client, None);
}

#[tokio::test]
async fn tokens_for_others_or_of_the_wrong_kind_are_refused() {
    assert!(
        refused(&with(|c| drop(
            c.insert("iss".into(), json!("https://evil.example"))
        )))
        .await
        .contains("someone else")
    );
    assert!(
        refused(&with(|c| drop(
            c.insert("aud".into(), json!("other-client"))
        )))
        .await
        .contains("another client")
    );
    assert!(
        refused(&with(|c| drop(c.remove("aud"))))
            .await
            .contains("another client")
    );
    assert!(
        refused(&with(|c| drop(c.insert("token_use".into(), json!("id")))))
            .await
            .contains("not an access token")
    );
    assert!(
        refused(&with(|c| drop(c.remove("sub"))))
            .await
            .contains("incomplete")
    );
}

#[tokio::test]
async fn expiry_allows_only_a_small_skew() {
    assert!(
        verifier("groups")
            .verify(&with(|c| drop(c.insert("exp".into(), json!(now() - 10)))))
            .await
            .is_ok()
    );
    assert!(
        refused(&with(|c| drop(c.insert("exp".into(), json!(now() - 120)))))
            .await
            .contains("expired")
    );
    assert!(
        refused(&with(|c| drop(c.insert("nbf".into(), json!(now() + 600)))))
            .await
            .contains("not valid yet")
    );
}

#[tokio::test]
async fn algorithm_tricks_and_forgeries_are_refused() {
    // alg=none
    let body = URL_SAFE_NO_PAD.encode(claims().to_string());
    let none = format!(
        "{}.{body}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#)
    );
    assert!(matches!(
        verifier("groups").verify(&none).await,
        Err(AuthError::Invalid(_))
    ));
    // HS256 keyed with the public modulus: the classic confusion attack.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let hs =
        jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(b"public")).unwrap();
    assert!(refused(&hs).await.contains("not accepted"));
    // A changed payload under the original signature.
    let good = sign(&claims(), "k1");
    let parts: Vec<&str> = good.split('.').collect();
    let mut forged = claims();
    forged["groups"] = json!(["admin", "superuser"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    assert!(refused(&forged).await.contains("signature"));
    assert!(
        refused(&sign(&claims(), "unknown"))
            .await
            .contains("unknown")
    );
    assert!(refused("not-a-token").await.contains("not a JWT"));
}
