//! F1 and the API's door: forged, foreign, stale and misplaced bearer tokens (t01–t05), and the
//! helpers the other modules of this suite share.

use crate::helpers::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// An RSA key that is not the identity provider's, made once per run: whatever it signs must be
/// refused.
fn foreign_key() -> &'static RsaPrivateKey {
    static KEY: std::sync::OnceLock<RsaPrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap())
}

/// [`foreign_key`] as jsonwebtoken signs with it.
fn foreign_encoding_key() -> EncodingKey {
    let pem = foreign_key().to_pkcs8_pem(LineEnding::LF).unwrap();
    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
}

/// Forged access tokens (`alg: none`, HMAC keyed with the issuer's public key, a stranger's key,
/// wrong or changed claims, stale) all get 401 with `WWW-Authenticate`; the holder is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t01_forged_access_tokens_are_refused() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let (alice_password, alice_tokens) = member(&app, &admin, "alice@example.org").await;
    let alice = alice_tokens["access_token"].as_str().unwrap().to_owned();
    let id_token = alice_tokens["id_token"].as_str().unwrap().to_owned();
    let refresh = alice_tokens["refresh_token"].as_str().unwrap().to_owned();
    let marker = "MARKER-T01-forged-4c1e";
    let t = sent_transfer(&app, &alice, &["bob@example.com"], "Forgery target", marker).await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let list_before = app.get("/api/v1/transfers", &alice).await.1;

    let now = unix_now();
    let claims = jwt_payload(&alice);
    let kid = jwt_header(&alice)["kid"].as_str().unwrap().to_owned();
    let real_key = idp_key(&app);
    let foreign = foreign_encoding_key();
    let with = |changes: Value| {
        let mut c = claims.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };

    // The machinery works: the real claims signed again with the real key are accepted, and so
    // is a recipient grant signed with Ferry's own secret. What follows fails for its flaw alone.
    let resigned = sign(Algorithm::RS256, Some(&kid), &claims, &real_key);
    assert_eq!(
        api(app
            .http
            .get(app.url("/api/v1/transfers"))
            .bearer_auth(&resigned))
        .await
        .status,
        StatusCode::OK
    );
    let recipient_claims = json!({
        "iss": "ferry:recipient", "aud": tid, "sub": "bob@example.com", "tid": tid,
        "iat": now, "exp": now + 600,
    });
    let genuine_grant = sign(
        Algorithm::HS256,
        None,
        &recipient_claims,
        &EncodingKey::from_secret(&recipient_secret(&app)),
    );
    assert_eq!(
        api(app
            .http
            .get(app.url(&format!("/api/v1/transfers/{tid}")))
            .bearer_auth(&genuine_grant))
        .await
        .status,
        StatusCode::OK
    );

    // The issuer's public key, in every form an HMAC confusion attack would use as the secret.
    let jwks_text = app
        .http
        .get(app.url("/oidc/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks: Value = serde_json::from_str(&jwks_text).unwrap();
    let jwk = &jwks["keys"][0];
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let public = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).unwrap();
    let spki_pem = public.to_public_key_pem(LineEnding::LF).unwrap();
    let pkcs1_pem = public.to_pkcs1_pem(LineEnding::LF).unwrap();
    let public_secrets: Vec<Vec<u8>> = vec![
        n.clone(),
        spki_pem.as_bytes().to_vec(),
        pkcs1_pem.as_bytes().to_vec(),
        public.to_public_key_der().unwrap().as_bytes().to_vec(),
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        jwk.to_string().into_bytes(),
        jwks_text.clone().into_bytes(),
    ];

    let foreign_public = foreign_key().to_public_key();
    let mut with_jwk = Header::new(Algorithm::RS256);
    with_jwk.kid = Some(kid.clone());
    with_jwk.jku = Some("http://127.0.0.1:9/jwks.json".into());
    with_jwk.jwk = Some(
        serde_json::from_value(json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(foreign_public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(foreign_public.e().to_bytes_be()),
        }))
        .unwrap(),
    );

    let mut forged: Vec<(String, String)> = vec![
        ("alg none".into(), unsigned("none", &kid, &claims)),
        ("alg None".into(), unsigned("None", &kid, &claims)),
        ("alg NONE".into(), unsigned("NONE", &kid, &claims)),
        (
            "alg none with the real signature".into(),
            format!(
                "{}.{}",
                unsigned("none", &kid, &claims).trim_end_matches('.'),
                alice.rsplit('.').next().unwrap()
            ),
        ),
        (
            "another RSA key under the issuer's kid".into(),
            sign(Algorithm::RS256, Some(&kid), &claims, &foreign),
        ),
        (
            "another RSA key without a kid".into(),
            sign(Algorithm::RS256, None, &claims, &foreign),
        ),
        (
            "another RSA key, itself embedded as jwk and jku".into(),
            jsonwebtoken::encode(&with_jwk, &claims, &foreign).unwrap(),
        ),
        (
            "PS256 with the real key (not on the allow-list)".into(),
            sign(Algorithm::PS256, Some(&kid), &claims, &real_key),
        ),
        (
            "RS512 with the real key (not on the allow-list)".into(),
            sign(Algorithm::RS512, Some(&kid), &claims, &real_key),
        ),
        (
            "a recipient grant under an arbitrary secret".into(),
            sign(
                Algorithm::HS256,
                None,
                &recipient_claims,
                &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
            ),
        ),
        (
            "the real claims under an arbitrary HMAC secret".into(),
            sign(
                Algorithm::HS256,
                Some(&kid),
                &claims,
                &EncodingKey::from_secret(b"secret"),
            ),
        ),
        (
            "a payload changed under the real signature".into(),
            swap_payload(&alice, &with(json!({ "groups": ["admin", "member"] }))),
        ),
        (
            "a payload with a flipped byte".into(),
            flip_char(&alice, alice.find('.').unwrap() + 10),
        ),
        (
            "a signature with a flipped byte".into(),
            flip_char(&alice, alice.len() - 5),
        ),
        ("no signature".into(), {
            let mut parts: Vec<&str> = alice.split('.').collect();
            parts[2] = "";
            parts.join(".")
        }),
        (
            "another issuer".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "iss": "https://evil.example/oidc" })),
                &real_key,
            ),
        ),
        (
            "the issuer with a trailing slash".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "iss": format!("{}/", app.url("/oidc")) })),
                &real_key,
            ),
        ),
        (
            "no issuer".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "iss": null })),
                &real_key,
            ),
        ),
        (
            "another audience and client".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "aud": "other-client", "client_id": "other-client" })),
                &real_key,
            ),
        ),
        (
            "no audience at all".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "aud": null, "client_id": null })),
                &real_key,
            ),
        ),
        (
            "expired 2 minutes ago (more than the 60 s leeway)".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "iat": now - 1000, "exp": now - 120 })),
                &real_key,
            ),
        ),
        (
            "no expiry".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "exp": null })),
                &real_key,
            ),
        ),
        (
            "not valid for another 10 minutes".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "nbf": now + 600 })),
                &real_key,
            ),
        ),
        (
            "an ID token's token_use".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "token_use": "id" })),
                &real_key,
            ),
        ),
        (
            "a subject that is no user".into(),
            sign(
                Algorithm::RS256,
                Some(&kid),
                &with(json!({ "sub": uuid::Uuid::new_v4().to_string() })),
                &real_key,
            ),
        ),
        ("the ID token itself".into(), id_token.clone()),
        ("the refresh token".into(), refresh.clone()),
        ("garbage".into(), "garbage".into()),
        ("three empty parts".into(), "..".into()),
        ("three junk parts".into(), "a.b.c".into()),
        (
            "JSON instead of base64".into(),
            format!("{}.{}.x", json!({"alg": "RS256"}), claims),
        ),
        (
            "a huge token".into(),
            format!("{resigned}{}", "A".repeat(9000)),
        ),
    ];
    for (i, secret) in public_secrets.iter().enumerate() {
        forged.push((
            format!("HS256 keyed with the issuer's public key, form {i}"),
            sign(
                Algorithm::HS256,
                Some(&kid),
                &claims,
                &EncodingKey::from_secret(secret),
            ),
        ));
        forged.push((
            format!("HS512 keyed with the issuer's public key, form {i}"),
            sign(
                Algorithm::HS512,
                Some(&kid),
                &claims,
                &EncodingKey::from_secret(secret),
            ),
        ));
    }

    for (what, token) in &forged {
        for path in [
            "/api/v1/transfers".to_owned(),
            format!("/api/v1/transfers/{tid}"),
        ] {
            let reply = api(app.http.get(app.url(&path)).bearer_auth(token)).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{what} on {path}: {}",
                reply.body
            );
            assert!(
                reply.headers["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer"),
                "{what}"
            );
        }
    }
    // A header that is not a bearer token at all.
    for value in [
        format!("Basic {alice}"),
        format!("Bearer{alice}"),
        alice.clone(),
        "Bearer ".into(),
        format!("Token {alice}"),
    ] {
        let reply = api(app
            .http
            .get(app.url("/api/v1/transfers"))
            .header("authorization", value))
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        assert!(reply.headers.contains_key("www-authenticate"));
    }

    // The issuer's signature on claims of more roles than the directory grants: the directory
    // has the last word, so the member stays a member.
    let promoted = sign(
        Algorithm::RS256,
        Some(&kid),
        &with(json!({ "groups": ["admin", "member"] })),
        &real_key,
    );
    let (status, _) = app.get("/api/v1/admin/users", &promoted).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The real holder is unaffected.
    let (status, me) = app.get("/api/v1/me", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["roles"], json!(["member"]));
    assert_eq!(app.get("/api/v1/transfers", &alice).await.1, list_before);
    let mut secrets: Vec<String> = forged
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.len() > 40)
        .collect();
    secrets.extend([
        alice,
        id_token,
        refresh,
        alice_password,
        resigned,
        genuine_grant,
        promoted,
        admin,
        marker.to_owned(),
    ]);
    secrets.extend(all_codes(&app).await);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// A flood of tokens naming hundreds of unknown `kid`s is refused from the key cache (401),
/// while genuine tokens keep working during and after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t02_a_flood_of_unknown_kids_does_not_lock_out_real_tokens() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let (password, tokens) = member(&app, &admin, "alice@example.org").await;
    let alice = tokens["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_payload(&alice);
    let foreign = foreign_encoding_key();
    let real_key = idp_key(&app);

    let mut kids: Vec<String> = (0..300)
        .map(|_| URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()))
        .collect();
    kids.extend([
        String::new(),
        "../../../../etc/passwd".into(),
        "k".repeat(4000),
        "%00".into(),
        "ключ".into(),
    ]);
    let started = Instant::now();
    let mut refused = 0;
    for batch in kids.chunks(25) {
        let flood = batch.iter().enumerate().map(|(i, kid)| {
            // Half signed by a stranger's key, half by the real one: neither kid is known.
            let key = if i % 2 == 0 { &foreign } else { &real_key };
            let token = sign(Algorithm::RS256, Some(kid), &claims, key);
            let req = app
                .http
                .get(app.url("/api/v1/transfers"))
                .bearer_auth(token);
            api(req)
        });
        let genuine = api(app.http.get(app.url("/api/v1/me")).bearer_auth(&alice));
        let (replies, genuine) = tokio::join!(join_all(flood), genuine);
        assert_eq!(
            genuine.status,
            StatusCode::OK,
            "a real token during the flood: {}",
            genuine.body
        );
        for reply in replies {
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
            assert!(reply.headers.contains_key("www-authenticate"));
            let detail = reply.body["detail"].as_str().unwrap();
            assert!(
                detail.contains("signing key is unknown")
                    || detail.contains("names no signing key"),
                "refused for its kid, not by accident: {detail}"
            );
            refused += 1;
        }
    }
    assert_eq!(refused, kids.len());
    eprintln!(
        "{} unknown kids refused in {:?}",
        kids.len(),
        started.elapsed()
    );

    // Afterwards real tokens, old and new, still work.
    let (status, _) = app.get("/api/v1/transfers", &alice).await;
    assert_eq!(status, StatusCode::OK);
    let fresh = app.token("alice@example.org", &password).await;
    let (status, me) = app.get("/api/v1/me", &fresh).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "alice@example.org");
    let log = app.log();
    assert!(
        !log.contains("refreshing the issuer's keys failed") && !log.contains("request failed"),
        "the flood caused failures"
    );
    app.assert_log_free_of(&[&alice, &fresh, &password, &admin]);
}

/// A disabled or deleted user's unexpired access token is refused at once (the directory is read
/// on every request), and so are their refresh token, userinfo and sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t03_disabled_and_deleted_users_lose_access() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let (password, tokens) = member(&app, &admin, "dave@example.org").await;
    let dave = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (_, me) = app.get("/api/v1/me", &dave).await;
    let uid = me["id"].as_str().unwrap().to_owned();
    let marker = "MARKER-T03-dave-77aa";
    sent_transfer(&app, &dave, &["bob@example.com"], "Before", marker).await;
    let created_before = created_by(&app, &admin, &uid).await;
    let mut secrets = vec![
        dave.clone(),
        refresh.clone(),
        password.clone(),
        admin.clone(),
    ];

    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{uid}"),
            Some(&admin),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The stated bound in ferry-local is "at once": the very next request is refused.
    assert_locked_out(&app, &dave, &refresh, &password).await;
    assert_eq!(created_by(&app, &admin, &uid).await, created_before);

    // Enabled again, the refresh tokens of before stay revoked.
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{uid}"),
            Some(&admin),
            Some(json!({ "enabled": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        refresh_status(&app, &refresh).await,
        StatusCode::BAD_REQUEST,
        "disabling ended every session"
    );
    let tokens = app.login("dave@example.org", &password).await.unwrap();
    let dave = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([dave.clone(), refresh.clone()]);
    assert_eq!(app.get("/api/v1/me", &dave).await.0, StatusCode::OK);

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/users/{uid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_locked_out(&app, &dave, &refresh, &password).await;
    assert_eq!(created_by(&app, &admin, &uid).await, created_before);

    secrets.push(marker.into());
    secrets.extend(all_codes(&app).await);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// A recipient token aimed at another transfer answers 404 like a missing one, tampered 401, on
/// sender and admin routes 403; it shows only its own recipient's part of its transfer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t04_recipient_tokens_are_bound_to_one_transfer_and_recipient() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let (alice_password, tokens) = member(&app, &admin, "alice@example.org").await;
    let alice = tokens["access_token"].as_str().unwrap().to_owned();
    let both = ["bob@example.com", "carol@example.net"];
    let (marker_a, marker_b) = ("MARKER-T04-A-1f2e", "MARKER-T04-B-9d8c");
    let a = sent_transfer(&app, &alice, &both, "Transfer A", marker_a).await;
    let b = sent_transfer(&app, &alice, &both, "Transfer B", marker_b).await;
    let (ta, tb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let (da, db) = (
        a["documents"][0]["id"].as_str().unwrap(),
        b["documents"][0]["id"].as_str().unwrap(),
    );
    let bob_link = link_for(&app, "bob@example.com", "Transfer A").await;
    let carol_link = link_for(&app, "carol@example.net", "Transfer A").await;
    let bob = app.recipient_token(&bob_link, "bob@example.com").await;
    let carol = app.recipient_token(&carol_link, "carol@example.net").await;

    // Carol asks for a delivery; it is hers alone to see.
    let (hook, received) = webhook_receiver().await;
    let hook_secret = "carol-s-webhook-secret-0123456789";
    let (status, delivery) = app
        .post(
            &format!("/api/v1/transfers/{ta}/deliveries"),
            Some(&carol),
            json!({ "destination": { "type": "webhook", "url": hook, "secret": hook_secret } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{delivery}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "carol's delivery never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, bob_view) = app.get(&format!("/api/v1/transfers/{ta}"), &bob).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        bob_view["recipients"],
        json!([bob_view["recipients"][0].clone()])
    );
    assert_eq!(bob_view["recipients"][0]["email"], "bob@example.com");
    assert_eq!(bob_view["deliveries"], json!([]), "{bob_view}");
    let (_, carol_view) = app.get(&format!("/api/v1/transfers/{ta}"), &carol).await;
    assert_eq!(carol_view["deliveries"].as_array().unwrap().len(), 1);
    assert!(!carol_view.to_string().contains("bob@example.com"));
    let sender_view = app.get(&format!("/api/v1/transfers/{ta}"), &alice).await.1;
    assert_eq!(sender_view["recipients"].as_array().unwrap().len(), 2);

    let notified = |t: &Value| {
        t["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "notified")
    };
    let before_b = app.wait_for(&alice, tb, "B's invitations", notified).await;
    let sent_before = app.get("/api/v1/transfers?box=sent", &alice).await.1;

    // Bob's token for A, aimed at B (same sender, and Bob is a recipient of B too): B answers
    // exactly like a transfer that does not exist.
    let nobody = uuid::Uuid::new_v4().to_string();
    let nodoc = uuid::Uuid::new_v4().to_string();
    let routes = |tid: &str, did: &str| -> Vec<(Method, String, Option<Value>)> {
        vec![
            (Method::GET, format!("/api/v1/transfers/{tid}"), None),
            (
                Method::GET,
                format!("/api/v1/transfers/{tid}/documents/{did}/content"),
                None,
            ),
            (
                Method::GET,
                format!("/api/v1/transfers/{tid}/documents/{did}/text"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/transfers/{tid}/receipt"),
                Some(json!({})),
            ),
            (
                Method::POST,
                format!("/api/v1/transfers/{tid}/deliveries"),
                Some(
                    json!({ "destination": { "type": "webhook", "url": hook, "secret": hook_secret } }),
                ),
            ),
            (Method::DELETE, format!("/api/v1/transfers/{tid}"), None),
            (Method::GET, format!("/api/v1/transfers/{tid}/events"), None),
        ]
    };
    for ((method, foreign, body), (_, missing, _)) in
        routes(tb, db).into_iter().zip(routes(&nobody, &nodoc))
    {
        let (status, answer) = app
            .call(method.clone(), &foreign, Some(&bob), body.clone())
            .await;
        let (missing_status, missing_answer) =
            app.call(method.clone(), &missing, Some(&bob), body).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {foreign}: {answer}"
        );
        assert_eq!(
            (status, answer),
            (missing_status, missing_answer),
            "{method} {foreign}"
        );
    }
    // A's document through B's id and B's document through A's id: not found either.
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/transfers/{ta}/documents/{db}/content"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Tampered: moved to B, moved to Carol, or with a broken signature.
    let grant = jwt_payload(&bob);
    let mut to_b = grant.clone();
    to_b["tid"] = json!(tb);
    to_b["aud"] = json!(tb);
    let mut to_carol = grant.clone();
    to_carol["sub"] = json!("carol@example.net");
    let mut longer = grant.clone();
    longer["exp"] = json!(grant["exp"].as_i64().unwrap() + 86_400);
    let tampered = [
        swap_payload(&bob, &to_b),
        swap_payload(&bob, &to_carol),
        swap_payload(&bob, &longer),
        flip_char(&bob, bob.len() - 3),
        flip_char(&bob, bob.find('.').unwrap() + 7),
    ];
    for token in &tampered {
        for path in [
            format!("/api/v1/transfers/{ta}"),
            format!("/api/v1/transfers/{tb}"),
        ] {
            let reply = api(app.http.get(app.url(&path)).bearer_auth(token)).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
            assert!(reply.headers.contains_key("www-authenticate"));
        }
    }

    // Sender, member and admin routes are not for link holders.
    let file = json!({ "name": "x.txt", "size": 5, "content_type": "text/plain", "md5": md5_b64(b"hello") });
    let refused: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/me".into(), None),
        (Method::GET, "/api/v1/transfers".into(), None),
        (Method::GET, "/api/v1/transfers?box=received".into(), None),
        (
            Method::POST,
            "/api/v1/transfers".into(),
            Some(json!({ "recipients": ["eve@example.com"], "subject": "s", "files": [file] })),
        ),
        (Method::POST, "/api/v1/speed-test".into(), Some(json!({}))),
        (Method::GET, "/api/v1/admin/users".into(), None),
        (
            Method::POST,
            "/api/v1/admin/users".into(),
            Some(
                json!({ "email": "eve@example.com", "name": "Eve", "roles": ["admin"], "password": "long-enough-password" }),
            ),
        ),
        (Method::GET, "/api/v1/admin/audit".into(), None),
        (Method::GET, format!("/api/v1/transfers/{ta}/events"), None),
        (Method::DELETE, format!("/api/v1/transfers/{ta}"), None),
        (
            Method::POST,
            format!("/api/v1/transfers/{ta}/documents/{da}/parts"),
            Some(json!({ "parts": [{ "number": 1, "md5": md5_b64(b"x") }] })),
        ),
        (
            Method::POST,
            format!("/api/v1/transfers/{ta}/documents/{da}/complete"),
            Some(json!({ "parts": [{ "number": 1, "etag": "\"x\"" }] })),
        ),
    ];
    for (method, path, body) in refused {
        let (status, answer) = app.call(method.clone(), &path, Some(&bob), body).await;
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED,
            "{method} {path}: {status} {answer}"
        );
    }

    // Nothing changed: B as it was, A still sent to both, no new transfer, nobody new.
    let after_b = app.get(&format!("/api/v1/transfers/{tb}"), &alice).await.1;
    assert_eq!(after_b, before_b);
    assert_eq!(
        app.get("/api/v1/transfers?box=sent", &alice).await.1["transfers"]
            .as_array()
            .unwrap()
            .len(),
        sent_before["transfers"].as_array().unwrap().len()
    );
    let a_after = app.get(&format!("/api/v1/transfers/{ta}"), &alice).await.1;
    assert_eq!(a_after["status"], "sent");
    let users = app.get("/api/v1/admin/users", &admin).await.1;
    assert!(!users.to_string().contains("eve@example.com"));

    let mut secrets: Vec<String> = tampered.to_vec();
    secrets.extend([
        alice,
        alice_password,
        admin,
        bob,
        carol,
        bob_link,
        carol_link,
        hook_secret.into(),
        marker_a.into(),
        marker_b.into(),
    ]);
    secrets.extend(all_codes(&app).await);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Bearer tokens in query strings, forms or cookies are ignored (401); downloads answer a
/// short-lived presigned URL that carries no bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t05_tokens_in_urls_are_not_accepted() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let (alice_password, tokens) = member(&app, &admin, "alice@example.org").await;
    let alice = tokens["access_token"].as_str().unwrap().to_owned();
    let marker = "MARKER-T05-url-3b7f";
    let t = sent_transfer(&app, &alice, &["bob@example.com"], "Tokens in URLs", marker).await;
    let tid = t["id"].as_str().unwrap();
    let did = t["documents"][0]["id"].as_str().unwrap();
    let link = link_for(&app, "bob@example.com", "Tokens in URLs").await;
    let bob = app.recipient_token(&link, "bob@example.com").await;
    let content = format!("/api/v1/transfers/{tid}/documents/{did}/content");
    let downloads = |events: &Value| {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "document.downloaded")
            .count()
    };
    let events = format!("/api/v1/transfers/{tid}/events");
    let downloads_before = downloads(&app.get(&events, &alice).await.1);

    for (token, path) in [
        (&alice, "/api/v1/me".to_owned()),
        (&alice, "/api/v1/transfers".to_owned()),
        (&alice, format!("/api/v1/transfers/{tid}")),
        (&alice, content.clone()),
        (&bob, format!("/api/v1/transfers/{tid}")),
        (&bob, content.clone()),
    ] {
        for name in ["access_token", "token", "bearer", "id_token", "jwt"] {
            let reply = api(app.http.get(app.url(&path)).query(&[(name, token)])).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "?{name}= on {path}: {}",
                reply.body
            );
            assert!(reply.headers.contains_key("www-authenticate"));
            assert!(!reply.headers.contains_key("location"));
        }
        for cookie in ["access_token", "token", "session"] {
            let reply = api(app
                .http
                .get(app.url(&path))
                .header("cookie", format!("{cookie}={token}")))
            .await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "cookie {cookie}");
        }
    }
    let reply = api(app
        .http
        .post(app.url("/api/v1/transfers"))
        .form(&[("access_token", alice.as_str())]))
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // The download: a 303 to a presigned URL that is short-lived and holds no bearer token.
    let resp = app
        .http
        .get(app.url(&content))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let reply = api(app
        .http
        .get(app.url(&content))
        .bearer_auth(&bob)
        .header("accept", "application/json"))
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let json_url = reply.body["url"].as_str().unwrap().to_owned();
    let expires_in = reply.body["expires_in"].as_i64().unwrap();
    assert!((1..=300).contains(&expires_in), "{expires_in}");
    let mut sigs = Vec::new();
    for url in [&location, &json_url] {
        assert!(url.starts_with(&app.url("/_storage/")), "{url}");
        for token in [&alice, &bob, &link] {
            assert!(
                !url.contains(token.as_str()),
                "a secret in the download URL"
            );
        }
        assert!(!url.contains("eyJ"), "a JWT in the download URL: {url}");
        let parsed = reqwest::Url::parse(url).unwrap();
        let param = |name: &str| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("{name} missing from {url}"))
        };
        let expires: u64 = param("expires").parse().unwrap();
        assert!(
            expires <= unix_now() + 300 + 5,
            "the URL lives longer than 5 minutes"
        );
        sigs.push(param("sig"));
        let fetched = app.http.get(url).send().await.unwrap();
        assert_eq!(fetched.status(), StatusCode::OK);
        assert_eq!(fetched.text().await.unwrap(), marker);
    }
    // The invitation carries the link token and nothing that works as a bearer token.
    let invite = app
        .mails()
        .await
        .into_iter()
        .find(|(to, s, _)| to.contains("bob@example.com") && s.starts_with("Documents from"))
        .unwrap();
    assert!(invite.2.contains(&format!("/r/{link}")));
    assert!(!invite.2.contains("eyJ"));

    // The one secret that is in a URL, the link, stays on its page: no Referer carries it away.
    let page = app
        .http
        .get(app.url(&format!("/r/{link}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");

    // Only the two header-authenticated downloads were recorded; the transfer is as it was.
    assert_eq!(
        downloads(&app.get(&events, &alice).await.1),
        downloads_before + 2
    );
    let (_, after) = app.get(&format!("/api/v1/transfers/{tid}"), &alice).await;
    assert_eq!(after["status"], "sent");
    assert_eq!(after["recipients"][0]["status"], "verified");

    let mut secrets = vec![alice, alice_password, admin, bob, link, marker.to_owned()];
    secrets.extend(sigs);
    secrets.extend(all_codes(&app).await);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the modules of this suite.

/// An API answer; every 4xx and 5xx must be problem+json.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

pub(crate) async fn api(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if status.is_client_error() || status.is_server_error() {
        assert!(
            headers
                .get("content-type")
                .is_some_and(|v| v.to_str().unwrap().starts_with("application/problem+json")),
            "{status} without problem+json: {body}"
        );
        assert_eq!(body["status"], status.as_u16(), "{body}");
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// A client whose connections come from `ip` (any 127.x address reaches ferry-local), so that
/// a test can act as several client addresses.
pub(crate) fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Creates a member with the admin's token and signs them in; their password and tokens.
pub(crate) async fn member(app: &TestApp, admin: &str, email: &str) -> (String, Value) {
    let password = format!("{email}-password-123");
    let (status, body) = app
        .post(
            "/api/v1/admin/users",
            Some(admin),
            json!({ "email": email, "name": email, "roles": ["member"], "password": password }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let tokens = app.login(email, &password).await.expect("login");
    (password, tokens)
}

/// A transfer of one text document holding `text`, uploaded and sent (as the sender sees it).
pub(crate) async fn sent_transfer(
    app: &TestApp,
    sender: &str,
    recipients: &[&str],
    subject: &str,
    text: &str,
) -> Value {
    let body = text.as_bytes();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(sender),
            json!({ "recipients": recipients, "subject": subject, "files": [
                { "name": "note.txt", "size": body.len(), "content_type": "text/plain", "md5": md5_b64(body) }
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    app.upload(sender, &t, 0, body).await;
    let tid = t["id"].as_str().unwrap();
    app.wait_for(sender, tid, "the transfer to be sent", |t| {
        t["status"] == "sent"
    })
    .await
}

/// The link token from the invitation to `to` for the transfer called `subject`.
pub(crate) async fn link_for(app: &TestApp, to: &str, subject: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let invite = app.mails().await.into_iter().find(|(t, s, _)| {
            t.contains(to) && s.starts_with("Documents from") && s.ends_with(subject)
        });
        if let Some((_, _, raw)) = invite {
            let at = raw.find("/r/").expect("a link in the invitation") + 3;
            return raw[at..at + 43].to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no invitation to {to}: {subject}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The codes emailed to `to`, newest first.
pub(crate) async fn codes_to(app: &TestApp, to: &str) -> Vec<String> {
    app.mails()
        .await
        .into_iter()
        .filter(|(t, s, _)| t.contains(to) && s.starts_with("Your Ferry code"))
        .map(|(_, s, _)| s.rsplit(' ').next().unwrap().to_owned())
        .collect()
}

/// Every code in the outbox, for the log check.
pub(crate) async fn all_codes(app: &TestApp) -> Vec<String> {
    codes_to(app, "@").await
}

/// A random, well-formed link token (256 bits), as a guesser would make one.
pub(crate) fn random_link() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn jwt_header(token: &str) -> Value {
    decode_part(token, 0)
}

pub(crate) fn jwt_payload(token: &str) -> Value {
    decode_part(token, 1)
}

/// The token with its payload replaced and its signature kept.
pub(crate) fn swap_payload(token: &str, payload: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    )
}

/// The token with one base64url character changed at `at`.
pub(crate) fn flip_char(token: &str, at: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// An unsigned token with the given `alg`, as `alg: none` attacks send it.
fn unsigned(alg: &str, kid: &str, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "at+jwt", "kid": kid }).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The identity provider's own signing key, from its data dir: for tokens that carry a genuine
/// signature and one flaw in their claims.
fn idp_key(app: &TestApp) -> EncodingKey {
    let pem = std::fs::read(app.data_dir.join("oidc-signing-key.pem")).unwrap();
    EncodingKey::from_rsa_pem(&pem).unwrap()
}

/// Ferry's recipient-token secret, from its data dir.
fn recipient_secret(app: &TestApp) -> Vec<u8> {
    let text = std::fs::read_to_string(app.data_dir.join("recipient-token.key")).unwrap();
    hex::decode(text.trim()).unwrap()
}

async fn refresh_status(app: &TestApp, refresh: &str) -> StatusCode {
    app.http
        .post(app.url("/oidc/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "ferry-web"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

/// The user behind these credentials can do nothing any more.
async fn assert_locked_out(app: &TestApp, token: &str, refresh: &str, password: &str) {
    for (method, path, body) in [
        (Method::GET, "/api/v1/me", None),
        (Method::GET, "/api/v1/transfers", None),
        (
            Method::POST,
            "/api/v1/transfers",
            Some(
                json!({ "recipients": ["eve@example.com"], "subject": "after", "files": [
                { "name": "x.txt", "size": 5, "content_type": "text/plain", "md5": md5_b64(b"hello") }
            ] }),
            ),
        ),
    ] {
        let mut req = app
            .http
            .request(method.clone(), app.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let reply = api(req).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert!(reply.headers.contains_key("www-authenticate"));
    }
    let userinfo = app
        .http
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refresh_status(app, refresh).await, StatusCode::BAD_REQUEST);
    let email = jwt_payload(token)["email"].as_str().unwrap().to_owned();
    assert_eq!(
        app.login(&email, password).await.unwrap_err(),
        StatusCode::UNAUTHORIZED
    );
}

/// How many transfers the audit trail says this user created.
async fn created_by(app: &TestApp, admin: &str, uid: &str) -> usize {
    let (status, page) = app
        .get(
            &format!("/api/v1/admin/audit?actor=user:{uid}&limit=1000"),
            admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "transfer.created")
        .count()
}

/// A webhook receiver on 127.0.0.1 that records the bodies it gets.
pub(crate) async fn webhook_receiver() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<axum::body::Bytes>>>,
) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}
