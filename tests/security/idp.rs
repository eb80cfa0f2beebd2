//! F1 at ferry-local's identity provider: open redirects, stolen codes, PKCE, password guessing
//! (t11, t12).

use crate::helpers::*;
use crate::tokens::client_from;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CLIENT: &str = "ferry-web";

/// Unregistered clients and redirect URIs get an error page, never a redirect; codes need their
/// PKCE verifier, client and redirect, are spent once (a replay revokes), and need the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t11_the_sign_in_refuses_foreign_redirects_and_stolen_codes() {
    let app = spawn_logged(vec![], vec![]).await;
    let callback = app.url("/auth/callback");
    let (_, challenge) = pkce();

    // Unregistered redirect URIs and clients: an error page, never a redirect.
    let base = app.base.clone();
    let host_port = base.trim_start_matches("http://");
    let foreign_redirects = [
        Some("https://evil.example/auth/callback".to_owned()),
        Some(format!("http://{host_port}.evil.example/auth/callback")),
        Some(format!("http://{host_port}@evil.example/auth/callback")),
        Some(format!("http://evil.example@{host_port}/auth/callback")),
        Some(format!("{callback}/../../evil.example")),
        Some(format!("{callback}?next=https://evil.example")),
        Some(format!("{callback}#https://evil.example")),
        Some(format!("{callback}.evil.example")),
        Some(format!("https://{host_port}/auth/callback")),
        Some(callback.to_uppercase()),
        Some("//evil.example/auth/callback".to_owned()),
        Some("javascript:alert(1)//evil.example".to_owned()),
        Some(String::new()),
        None,
    ];
    for redirect in &foreign_redirects {
        let params = authorize(Some(CLIENT), redirect.as_deref(), &challenge);
        let (status, headers, html) =
            page(app.http.get(app.url("/oidc/authorize")).query(&params)).await;
        assert_refusal_page(status, &headers, &html, &format!("{redirect:?}"));
        // The password form posted with the right password: still only a page, and no code.
        let mut form = params.clone();
        form.extend(credentials(ADMIN_EMAIL, ADMIN_PASSWORD));
        let (status, headers, html) =
            page(app.http.post(app.url("/oidc/authorize")).form(&form)).await;
        assert_refusal_page(status, &headers, &html, &format!("POST {redirect:?}"));
    }
    for client in [
        Some("evil-app"),
        Some("ferry-web "),
        Some("FERRY-WEB"),
        Some(""),
        None,
    ] {
        let params = authorize(client, Some(&callback), &challenge);
        let (status, headers, html) =
            page(app.http.get(app.url("/oidc/authorize")).query(&params)).await;
        assert_refusal_page(status, &headers, &html, &format!("client {client:?}"));
        let mut form = params.clone();
        form.extend(credentials(ADMIN_EMAIL, ADMIN_PASSWORD));
        let (status, headers, html) =
            page(app.http.post(app.url("/oidc/authorize")).form(&form)).await;
        assert_refusal_page(status, &headers, &html, &format!("POST client {client:?}"));
    }

    // Signing out sends the browser back to the portal only.
    for target in [
        "https://evil.example/".to_owned(),
        format!("http://{host_port}.evil.example/"),
        format!("http://{host_port}@evil.example/"),
        format!("http://evil.example/{base}/"),
        format!("{base}/\\evil.example"),
        base.clone(),
        "//evil.example/".to_owned(),
        "javascript:alert(1)//evil.example".to_owned(),
    ] {
        let (status, headers, html) = page(
            app.http
                .get(app.url("/oidc/logout"))
                .query(&[("post_logout_redirect_uri", target.as_str())]),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{target}");
        assert!(!headers.contains_key("location"), "{target}");
        assert!(!html.contains("evil.example"), "{target}");
    }
    let resp = app
        .http
        .get(app.url("/oidc/logout"))
        .query(&[("post_logout_redirect_uri", app.url("/bye").as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], app.url("/bye").as_str());

    // The registered client without PKCE (or with `plain`): back to it with an error, no code.
    for method in [None, Some("plain")] {
        let mut params = authorize(Some(CLIENT), Some(&callback), &challenge);
        params.retain(|(k, _)| {
            k != "code_challenge_method" && (method.is_some() || k != "code_challenge")
        });
        if let Some(method) = method {
            params.push(("code_challenge_method".into(), method.into()));
        }
        params.extend(credentials(ADMIN_EMAIL, ADMIN_PASSWORD));
        let resp = app
            .http
            .post(app.url("/oidc/authorize"))
            .form(&params)
            .send()
            .await
            .unwrap();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let location = location.expect("an error for the client");
        assert!(location.starts_with(&format!("{callback}?")), "{location}");
        let url = reqwest::Url::parse(&location).unwrap();
        assert!(
            url.query_pairs()
                .any(|(k, v)| k == "error" && v == "invalid_request")
        );
        assert!(!url.query_pairs().any(|(k, _)| k == "code"), "{location}");
    }

    // A wrong password, or an unknown account: the form again, and no code.
    let mut codes = Vec::new();
    for (email, password) in [
        (ADMIN_EMAIL, "not the password at all"),
        (ADMIN_EMAIL, ""),
        ("nobody@example.org", ADMIN_PASSWORD),
    ] {
        let mut form = authorize(Some(CLIENT), Some(&callback), &challenge);
        form.extend(credentials(email, password));
        let (status, headers, html) =
            page(app.http.post(app.url("/oidc/authorize")).form(&form)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{email}");
        assert!(!headers.contains_key("location"));
        assert!(html.contains("name=\"password\""), "the form again");
    }

    // PKCE at the token endpoint: no verifier, then a wrong one. A stolen code tried with a
    // guessed verifier is spent: not even the right verifier redeems it afterwards.
    let (code, verifier) = sign_in(&app).await;
    codes.push(code.clone());
    let exchange = |code: &str, verifier: Option<&str>, redirect: &str, client: &str| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect.to_owned()),
            ("client_id", client.to_owned()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v.to_owned()));
        }
        let req = app.http.post(app.url("/oidc/token")).form(&form);
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let body: Value = resp.json().await.unwrap();
            (status, body)
        }
    };
    let (status, body) = exchange(&code, None, &callback, CLIENT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
    for bad in [
        "short",
        "has spaces in it which are not allowed at all in a verifier",
    ] {
        let (status, body) = exchange(&code, Some(bad), &callback, CLIENT).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.get("access_token").is_none());
    }
    let (wrong, _) = pkce();
    let (status, body) = exchange(&code, Some(&wrong), &callback, CLIENT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = exchange(&code, Some(&verifier), &callback, CLIENT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the code is spent: {body}");
    assert!(body.get("access_token").is_none());

    // Another redirect URI at the token endpoint.
    let (code, verifier) = sign_in(&app).await;
    codes.push(code.clone());
    let (status, body) = exchange(
        &code,
        Some(&verifier),
        "https://evil.example/auth/callback",
        CLIENT,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.get("access_token").is_none());

    // Another client; then the right exchange; then a replay, which also revokes the session
    // the first exchange started.
    let (code, verifier) = sign_in(&app).await;
    codes.push(code.clone());
    let (status, body) = exchange(&code, Some(&verifier), &callback, "evil-app").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.get("access_token").is_none());
    let (status, tokens) = exchange(&code, Some(&verifier), &callback, CLIENT).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let (status, body) = exchange(&code, Some(&verifier), &callback, CLIENT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert!(body.get("access_token").is_none());
    let refreshed = app
        .http
        .post(app.url("/oidc/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", CLIENT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refreshed.status(),
        StatusCode::BAD_REQUEST,
        "a replayed code revokes the refresh token it gave"
    );

    let mut secrets = vec![
        access,
        refresh,
        id_token,
        verifier,
        wrong,
        ADMIN_PASSWORD.to_owned(),
        "not the password at all".to_owned(),
    ];
    secrets.extend(codes);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// With `sign-in=3/min`, the fourth guess gets a 429 page with Retry-After, and the right password
/// is refused too, for that account from any address and for any account from that address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t12_password_guessing_is_rate_limited() {
    let app = spawn_logged(vec!["--rate-limits".into(), "sign-in=3/min".into()], vec![]).await;
    let admin = app.admin_token().await;
    let (victim, victim_password) = ("vic@example.org", "vic-has-a-long-password");
    let (other, other_password) = ("otto@example.org", "otto-has-a-long-password");
    for (email, password) in [(victim, victim_password), (other, other_password)] {
        let (status, body) = app
            .post(
                "/api/v1/admin/users",
                Some(&admin),
                json!({ "email": email, "name": email, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let attacker = client_from("127.0.0.2");
    let elsewhere = client_from("127.0.0.3");
    let guesses: Vec<String> = (1..=4)
        .map(|i| format!("guess-number-{i}-for-vic"))
        .collect();

    for guess in &guesses[..3] {
        let (status, headers, _) = try_password(&app, &attacker, victim, guess).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(!headers.contains_key("location"));
    }
    let (status, headers, html) = try_password(&app, &attacker, victim, &guesses[3]).await;
    assert_too_many(status, &headers, &html);

    // While limited: the right password from the guessing address, the right password from
    // another address (the account is limited), another account from the guessing address
    // (the address is limited), and the account page's sign-in.
    for (client, email, password) in [
        (&attacker, victim, victim_password),
        (&elsewhere, victim, victim_password),
        (&attacker, other, other_password),
    ] {
        let (status, headers, html) = try_password(&app, client, email, password).await;
        assert_too_many(status, &headers, &html);
    }
    // A forwarding header naming another address changes nothing: the address is the
    // connection's.
    let (_, challenge) = pkce();
    let mut form = authorize(Some(CLIENT), Some(&app.url("/auth/callback")), &challenge);
    form.extend(credentials(other, other_password));
    let (status, headers, html) = page(
        attacker
            .post(app.url("/oidc/authorize"))
            .header("x-forwarded-for", "198.51.100.7")
            .header("x-real-ip", "198.51.100.7")
            .header("forwarded", "for=198.51.100.7")
            .header("true-client-ip", "198.51.100.7")
            .form(&form),
    )
    .await;
    assert_too_many(status, &headers, &html);
    let (status, headers, html) = page(elsewhere.post(app.url("/oidc/account/login")).form(&[
        ("email", victim),
        ("password", victim_password),
        ("otp", ""),
    ]))
    .await;
    assert_too_many(status, &headers, &html);

    // The limit is the attacker's, not everyone's: another account from another address signs
    // in, and the victim's account is untouched.
    let (status, headers, _) = try_password(&app, &app.http, other, other_password).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap();
    assert!(
        location.starts_with(&app.url("/auth/callback?code=")),
        "{location}"
    );
    let (_, users) = app.get("/api/v1/admin/users", &admin).await;
    let vic = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == victim)
        .unwrap();
    assert_eq!(vic["enabled"], true);

    let code = reqwest::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let mut secrets = vec![
        admin,
        code,
        victim_password.to_owned(),
        other_password.to_owned(),
        ADMIN_PASSWORD.to_owned(),
    ];
    secrets.extend(guesses);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The parameters of an authorization request; `None` leaves one out.
fn authorize(
    client: Option<&str>,
    redirect: Option<&str>,
    challenge: &str,
) -> Vec<(String, String)> {
    let mut params = vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("code_challenge".to_owned(), challenge.to_owned()),
        ("code_challenge_method".to_owned(), "S256".to_owned()),
        ("state".to_owned(), "st4te".to_owned()),
        ("scope".to_owned(), "openid email profile".to_owned()),
    ];
    if let Some(client) = client {
        params.push(("client_id".into(), client.into()));
    }
    if let Some(redirect) = redirect {
        params.push(("redirect_uri".into(), redirect.into()));
    }
    params
}

fn credentials(email: &str, password: &str) -> Vec<(String, String)> {
    vec![
        ("email".to_owned(), email.to_owned()),
        ("password".to_owned(), password.to_owned()),
    ]
}

/// An HTML answer of the identity provider.
async fn page(req: reqwest::RequestBuilder) -> (StatusCode, HeaderMap, String) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

/// An error page (400, HTML), no redirect, nothing of the foreign address echoed as a link.
fn assert_refusal_page(status: StatusCode, headers: &HeaderMap, html: &str, what: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {html}");
    assert!(!headers.contains_key("location"), "{what} redirected");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{what}"
    );
    assert!(!html.contains("evil.example"), "{what} echoed the address");
    assert!(!html.contains("code="), "{what}");
}

fn assert_too_many(status: StatusCode, headers: &HeaderMap, html: &str) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(!headers.contains_key("location"), "no code while limited");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    // 3 a minute: one attempt comes back every 20 seconds.
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
}

/// The password form of a valid authorization request, posted from `client`.
async fn try_password(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> (StatusCode, HeaderMap, String) {
    let (_, challenge) = pkce();
    let mut form = authorize(Some(CLIENT), Some(&app.url("/auth/callback")), &challenge);
    form.extend(credentials(email, password));
    page(client.post(app.url("/oidc/authorize")).form(&form)).await
}

/// The admin signs in; the authorization code and its verifier, not yet exchanged.
async fn sign_in(app: &TestApp) -> (String, String) {
    let (verifier, challenge) = pkce();
    let callback = app.url("/auth/callback");
    let mut form = authorize(Some(CLIENT), Some(&callback), &challenge);
    form.extend(credentials(ADMIN_EMAIL, ADMIN_PASSWORD));
    let resp = app
        .http
        .post(app.url("/oidc/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = reqwest::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&callback));
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    (code, verifier)
}
