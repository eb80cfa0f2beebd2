//! The provider driven through its router, as a browser and the portal would drive it.

use super::keys::KEY_FILE;
use super::*;
use crate::db::Db;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_core::ports::{MachineClients, NewUser, UserPatch};
use ferry_core::values::{EmailAddress, Role};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use tower::ServiceExt;

const BASE: &str = "http://ferry.test";
const PASSWORD: &str = "a long enough password";

/// One key for the tests that do not test keys: RSA generation is slow.
fn shared_key_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        SigningKey::load_or_create(dir.path()).unwrap();
        std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap()
    })
}

struct Harness {
    _dir: tempfile::TempDir,
    idp: Arc<LocalIdp>,
    users: Arc<LocalUsers>,
    clients: Arc<LocalClients>,
    app: Router,
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    fn location(&self) -> url::Url {
        let location = self
            .headers
            .get(header::LOCATION)
            .expect("a Location header");
        url::Url::parse(location.to_str().unwrap()).unwrap()
    }

    fn cookie(&self) -> String {
        let set = self
            .headers
            .get(header::SET_COOKIE)
            .expect("a cookie")
            .to_str()
            .unwrap();
        set.split(';').next().unwrap().to_owned()
    }
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The first form's action and its hidden fields, read the way the integration tests read them.
fn form(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    let form_tag = html
        .split("<form")
        .nth(1)
        .expect("a form")
        .split('>')
        .next()
        .unwrap();
    let action = attr(form_tag, "action").expect("an action");
    let fields = html
        .split("<input")
        .skip(1)
        .map(|s| s.split('>').next().unwrap())
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default())))
        .collect();
    (action, fields)
}

fn hidden_value(html: &str, name: &str) -> String {
    let (_, fields) = form(html);
    fields
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .expect("the hidden field")
}

struct Pkce {
    verifier: String,
    challenge: String,
}

fn pkce() -> Pkce {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

fn authorize_uri(pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{BASE}/oidc/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    format!("/oidc/authorize?{}", url.query().unwrap())
}

fn standard_request(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", "ferry-web".into()),
        ("redirect_uri", format!("{BASE}/auth/callback")),
        ("code_challenge", challenge.into()),
        ("code_challenge_method", "S256".into()),
        ("state", "xyz".into()),
        ("scope", "openid email profile".into()),
        ("nonce", "n1".into()),
    ]
}

fn as_pairs<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn harness_at(public_url: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(KEY_FILE), shared_key_pem()).unwrap();
    let db = Db::open(&dir.path().join("ferry.db")).unwrap();
    let users = Arc::new(LocalUsers::new(db.clone()).unwrap());
    let clients = Arc::new(LocalClients::new(db).unwrap());
    let idp = Arc::new(
        LocalIdp::new(
            format!("{public_url}/oidc"),
            public_url.into(),
            dir.path(),
            users.clone(),
            clients.clone(),
        )
        .unwrap(),
    );
    let app = idp.clone().router();
    Harness {
        _dir: dir,
        idp,
        users,
        clients,
        app,
    }
}

async fn harness() -> Harness {
    harness_at(BASE).await
}

impl Harness {
    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    async fn get(&self, uri: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn get_bearer(&self, uri: &str, token: &str) -> Reply {
        let request = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn post<K: AsRef<str>, V: AsRef<str>>(
        &self,
        uri: &str,
        fields: &[(K, V)],
        cookie: Option<&str>,
    ) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
            .finish();
        let mut request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    async fn user(&self, email: &str, roles: Vec<Role>) -> User {
        self.users
            .create(NewUser {
                email: EmailAddress::parse(email).unwrap(),
                name: format!("Name of {email}"),
                roles,
                password: Some(PASSWORD.into()),
            })
            .await
            .unwrap()
    }

    async fn set_enabled(&self, user: &User, enabled: bool) {
        let patch = UserPatch {
            enabled: Some(enabled),
            ..UserPatch::default()
        };
        self.users.update(&user.id, patch).await.unwrap();
    }

    /// The login page's form, submitted with these credentials: the answer of the password step.
    async fn submit_password(&self, challenge: &str, email: &str, password: &str) -> Reply {
        let page = self
            .get(
                &authorize_uri(&as_pairs(&standard_request(challenge))),
                None,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let (action, mut fields) = form(&page.body);
        assert_eq!(action, "/oidc/authorize");
        fields.push(("email".into(), email.into()));
        fields.push(("password".into(), password.into()));
        self.post(&action, &fields, None).await
    }

    /// Password (and the code, when asked for) → the authorization code from the redirect.
    async fn code(
        &self,
        challenge: &str,
        email: &str,
        password: &str,
        otp: Option<&str>,
    ) -> Result<String, Reply> {
        let mut reply = self.submit_password(challenge, email, password).await;
        if reply.status == StatusCode::OK {
            assert!(reply.body.contains("name=\"otp\""), "{}", reply.body);
            let (action, mut fields) = form(&reply.body);
            fields.push(("otp".into(), otp.expect("an otp is needed").into()));
            reply = self.post(&action, &fields, None).await;
        }
        if reply.status != StatusCode::SEE_OTHER {
            return Err(reply);
        }
        let location = reply.location();
        assert!(
            location
                .as_str()
                .starts_with(&format!("{BASE}/auth/callback?")),
            "{location}"
        );
        assert_eq!(query(&location, "state").as_deref(), Some("xyz"));
        assert_eq!(
            query(&location, "iss").as_deref(),
            Some(format!("{BASE}/oidc").as_str())
        );
        Ok(query(&location, "code").expect("a code"))
    }

    async fn exchange(&self, code: &str, verifier: &str) -> Reply {
        let redirect = format!("{BASE}/auth/callback");
        self.post(
            "/oidc/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &redirect),
                ("client_id", "ferry-web"),
                ("code_verifier", verifier),
            ],
            None,
        )
        .await
    }

    async fn refresh(&self, token: &str) -> Reply {
        self.post(
            "/oidc/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", "ferry-web"),
            ],
            None,
        )
        .await
    }

    /// A whole sign-in: the token response.
    async fn login(&self, email: &str, password: &str) -> Value {
        let pkce = pkce();
        let code = match self.code(&pkce.challenge, email, password, None).await {
            Ok(code) => code,
            Err(reply) => panic!("login failed: {} {}", reply.status, reply.body),
        };
        let tokens = self.exchange(&code, &pkce.verifier).await;
        assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
        tokens.json()
    }

    /// Signs in to the account page; the session cookie.
    async fn account_session(&self, email: &str, password: &str, otp: Option<&str>) -> String {
        let mut fields = vec![("email", email), ("password", password)];
        if let Some(otp) = otp {
            fields.push(("otp", otp));
        }
        let reply = self.post("/oidc/account/login", &fields, None).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        reply.cookie()
    }
}

fn decode(token: &str, jwks: &Value) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set
        .find(header.kid.as_deref().expect("a kid"))
        .expect("the kid is in the JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[format!("{BASE}/oidc")]);
    validation.set_audience(&["ferry-web"]);
    let data =
        jsonwebtoken::decode::<Value>(token, &key, &validation).expect("the signature verifies");
    (header, data.claims)
}

fn assert_oauth_error(reply: &Reply, error: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.json()["error"], error, "{}", reply.body);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
}

fn totp_from_page(html: &str) -> totp_rs::TOTP {
    let start = html.find("otpauth://").expect("an otpauth URI");
    let end = html[start..].find('<').unwrap() + start;
    totp_rs::TOTP::from_url(unescape(&html[start..end])).unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[tokio::test]
async fn discovery_and_jwks_describe_the_provider() {
    let h = harness().await;
    let discovery = h.get("/oidc/.well-known/openid-configuration", None).await;
    assert_eq!(discovery.status, StatusCode::OK);
    let d = discovery.json();
    assert_eq!(d["issuer"], format!("{BASE}/oidc"));
    assert_eq!(
        d["authorization_endpoint"],
        format!("{BASE}/oidc/authorize")
    );
    assert_eq!(d["token_endpoint"], format!("{BASE}/oidc/token"));
    assert_eq!(d["userinfo_endpoint"], format!("{BASE}/oidc/userinfo"));
    assert_eq!(d["jwks_uri"], format!("{BASE}/oidc/jwks.json"));
    assert_eq!(d["end_session_endpoint"], format!("{BASE}/oidc/logout"));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["none", "client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );

    let jwks = h.get("/oidc/jwks.json", None).await.json();
    let key = &jwks["keys"][0];
    let mut fields: Vec<&str> = key
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["alg", "e", "kid", "kty", "n", "use"],
        "public parts only"
    );
    assert_eq!(key["kid"], h.idp.key_id());
    assert_eq!(key["use"], "sig");
    let fetched = h.idp.jwks_fetcher().fetch().await.unwrap();
    assert!(
        fetched.find(h.idp.key_id()).is_some(),
        "the in-memory fetcher serves the same key"
    );
}

#[tokio::test]
async fn the_code_flow_gives_tokens_that_verify_with_the_served_jwks() {
    let h = harness().await;
    let user = h
        .user("alice@example.org", vec![Role::Admin, Role::Member])
        .await;
    let response = h.login("alice@example.org", PASSWORD).await;
    assert_eq!(response["token_type"], "Bearer");
    assert_eq!(response["expires_in"], 900);
    assert_eq!(response["scope"], "openid email profile");
    let jwks = h.get("/oidc/jwks.json", None).await.json();

    let (header, access) = decode(response["access_token"].as_str().unwrap(), &jwks);
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(h.idp.key_id()));
    assert_eq!(access["iss"], format!("{BASE}/oidc"));
    assert_eq!(access["sub"], user.id.as_str());
    assert!(uuid::Uuid::parse_str(access["sub"].as_str().unwrap()).is_ok());
    assert_eq!(access["aud"], "ferry-web");
    assert_eq!(access["client_id"], "ferry-web");
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["scope"], "openid email profile");
    assert_eq!(access["email"], "alice@example.org");
    assert_eq!(access["name"], "Name of alice@example.org");
    assert_eq!(access["groups"], serde_json::json!(["admin", "member"]));
    assert_eq!(
        access["exp"].as_u64().unwrap() - access["iat"].as_u64().unwrap(),
        900
    );
    assert!(access["jti"].as_str().is_some_and(|j| !j.is_empty()));

    let (_, id) = decode(response["id_token"].as_str().unwrap(), &jwks);
    assert_eq!(id["sub"], user.id.as_str());
    assert_eq!(id["aud"], "ferry-web");
    assert_eq!(id["nonce"], "n1");
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["email"], "alice@example.org");
    assert_eq!(id["groups"], serde_json::json!(["admin", "member"]));

    let info = h
        .get_bearer("/oidc/userinfo", response["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    let info = info.json();
    assert_eq!(info["sub"], user.id.as_str());
    assert_eq!(info["email"], "alice@example.org");
    assert_eq!(info["groups"], serde_json::json!(["admin", "member"]));
    let with_id_token = h
        .get_bearer("/oidc/userinfo", response["id_token"].as_str().unwrap())
        .await;
    assert_eq!(
        with_id_token.status,
        StatusCode::UNAUTHORIZED,
        "an ID token is not an access token"
    );
    assert_eq!(
        h.get("/oidc/userinfo", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn pkce_and_code_misuse_are_refused() {
    let h = harness().await;
    h.user("alice@example.org", vec![Role::Member]).await;

    // A wrong verifier, and the code is spent even for the right one afterwards.
    let p = pkce();
    let code = h
        .code(&p.challenge, "alice@example.org", PASSWORD, None)
        .await
        .unwrap();
    assert_oauth_error(&h.exchange(&code, &pkce().verifier).await, "invalid_grant");
    assert_oauth_error(&h.exchange(&code, &p.verifier).await, "invalid_grant");

    // A code works once; its replay revokes what the first use got.
    let p = pkce();
    let code = h
        .code(&p.challenge, "alice@example.org", PASSWORD, None)
        .await
        .unwrap();
    let first = h.exchange(&code, &p.verifier).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_oauth_error(&h.exchange(&code, &p.verifier).await, "invalid_grant");
    assert_oauth_error(
        &h.refresh(first.json()["refresh_token"].as_str().unwrap())
            .await,
        "invalid_grant",
    );

    // The redirect URI must be the one of the request.
    let p = pkce();
    let code = h
        .code(&p.challenge, "alice@example.org", PASSWORD, None)
        .await
        .unwrap();
    let wrong_redirect = h
        .post(
            "/oidc/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", &format!("{BASE}/elsewhere")),
                ("client_id", "ferry-web"),
                ("code_verifier", p.verifier.as_str()),
            ],
            None,
        )
        .await;
    assert_oauth_error(&wrong_redirect, "invalid_grant");
    assert_oauth_error(
        &h.exchange("made-up-code", &p.verifier).await,
        "invalid_grant",
    );
    assert_oauth_error(
        &h.post("/oidc/token", &[("grant_type", "password")], None)
            .await,
        "unsupported_grant_type",
    );
    assert_oauth_error(
        &h.post("/oidc/token", &[("grant_type", "authorization_code")], None)
            .await,
        "invalid_request",
    );
    assert_oauth_error(
        &h.post::<&str, &str>("/oidc/token", &[], None).await,
        "invalid_request",
    );

    // Plain PKCE, or none, goes back to the client as an error, with no login form.
    for method in ["plain", ""] {
        let mut request = standard_request(&p.verifier);
        request.retain(|(k, _)| *k != "code_challenge_method");
        if !method.is_empty() {
            request.push(("code_challenge_method", method.into()));
        }
        let reply = h.get(&authorize_uri(&as_pairs(&request)), None).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "{method}: {}",
            reply.body
        );
        let location = reply.location();
        assert!(
            location
                .as_str()
                .starts_with(&format!("{BASE}/auth/callback?"))
        );
        assert_eq!(
            query(&location, "error").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(query(&location, "state").as_deref(), Some("xyz"));
        assert!(query(&location, "code").is_none());
    }
    // A POST of the form cannot skip the checks either.
    let mut request = standard_request(&p.challenge);
    request.retain(|(k, _)| *k != "code_challenge_method");
    request.push(("code_challenge_method", "plain".into()));
    request.push(("email", "alice@example.org".into()));
    request.push(("password", PASSWORD.into()));
    let posted = h.post("/oidc/authorize", &as_pairs(&request), None).await;
    assert!(query(&posted.location(), "code").is_none());
}

#[tokio::test]
async fn unknown_clients_and_redirects_get_a_page_never_a_redirect() {
    let h = harness().await;
    let p = pkce();
    for (name, value) in [
        ("redirect_uri", "https://evil.example/auth/callback"),
        ("redirect_uri", "http://ferry.test/auth/callback/../x"),
        ("client_id", "someone-else"),
    ] {
        let mut request = standard_request(&p.challenge);
        request.retain(|(k, _)| *k != name);
        request.push((name, value.into()));
        let reply = h.get(&authorize_uri(&as_pairs(&request)), None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}={value}");
        assert!(reply.headers.get(header::LOCATION).is_none());
        assert!(
            reply.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(!reply.body.contains("name=\"password\""));
    }
    let repeated = format!(
        "{}&state=again",
        authorize_uri(&as_pairs(&standard_request(&p.challenge)))
    );
    assert_eq!(h.get(&repeated, None).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_wrong_password_gets_the_form_again_with_a_generic_message() {
    let h = harness().await;
    h.user("alice@example.org", vec![Role::Member]).await;
    let p = pkce();
    let wrong = h
        .submit_password(&p.challenge, "alice@example.org", "not the password")
        .await;
    let unknown = h
        .submit_password(&p.challenge, "nobody@example.org", PASSWORD)
        .await;
    for reply in [&wrong, &unknown] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.body.contains("The email or password is not right."));
        let (action, fields) = form(&reply.body);
        assert_eq!(action, "/oidc/authorize");
        assert!(
            fields
                .iter()
                .any(|(k, v)| k == "code_challenge" && *v == p.challenge),
            "the request is kept"
        );
    }
}

#[tokio::test]
async fn a_disabled_user_can_neither_sign_in_nor_refresh() {
    let h = harness().await;
    let alice = h.user("alice@example.org", vec![Role::Member]).await;
    let tokens = h.login("alice@example.org", PASSWORD).await;
    let p = pkce();
    let pending_code = h
        .code(&p.challenge, "alice@example.org", PASSWORD, None)
        .await
        .unwrap();

    h.set_enabled(&alice, false).await;
    let refused = h
        .submit_password(&pkce().challenge, "alice@example.org", PASSWORD)
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_oauth_error(
        &h.refresh(tokens["refresh_token"].as_str().unwrap()).await,
        "invalid_grant",
    );
    assert_oauth_error(
        &h.exchange(&pending_code, &p.verifier).await,
        "invalid_grant",
    );
    let info = h
        .get_bearer("/oidc/userinfo", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED);

    h.set_enabled(&alice, true).await;
    h.login("alice@example.org", PASSWORD).await;
    h.users.delete(&alice.id).await.unwrap();
    let refused = h
        .submit_password(&pkce().challenge, "alice@example.org", PASSWORD)
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_family() {
    let h = harness().await;
    let alice = h.user("alice@example.org", vec![Role::Member]).await;
    let tokens = h.login("alice@example.org", PASSWORD).await;
    let first = tokens["refresh_token"].as_str().unwrap();

    let rotated = h.refresh(first).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_eq!(rotated.headers[header::CACHE_CONTROL], "no-store");
    let rotated = rotated.json();
    let second = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(second, first);
    let jwks = h.get("/oidc/jwks.json", None).await.json();
    let (_, access) = decode(rotated["access_token"].as_str().unwrap(), &jwks);
    assert_eq!(access["sub"], alice.id.as_str());
    assert_eq!(access["token_use"], "access");

    assert_oauth_error(&h.refresh(first).await, "invalid_grant");
    assert_oauth_error(&h.refresh(second).await, "invalid_grant");
    let wrong_client = h
        .post(
            "/oidc/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", second),
                ("client_id", "x"),
            ],
            None,
        )
        .await;
    assert_oauth_error(&wrong_client, "invalid_grant");
}

#[tokio::test]
async fn totp_enrollment_makes_sign_in_ask_for_a_code() {
    let h = harness().await;
    h.user("alice@example.org", vec![Role::Member]).await;

    let page = h.get("/oidc/account", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("action=\"/oidc/account/login\""));
    let wrong = h
        .post(
            "/oidc/account/login",
            &[
                ("email", "alice@example.org"),
                ("password", "nope nope nope"),
            ],
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let login = h
        .post(
            "/oidc/account/login",
            &[("email", "alice@example.org"), ("password", PASSWORD)],
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let set_cookie = login.headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/oidc", "Max-Age=1800"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http has no secure cookies"
    );
    let cookie = login.cookie();

    let account = h.get("/oidc/account", Some(&cookie)).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("alice@example.org"));
    let csrf = hidden_value(&account.body, "csrf");

    let forged = h
        .post("/oidc/account/totp", &[("csrf", "forged")], Some(&cookie))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let no_session = h
        .post("/oidc/account/totp", &[("csrf", csrf.as_str())], None)
        .await;
    assert_eq!(no_session.status, StatusCode::SEE_OTHER);

    let enrollment = h
        .post(
            "/oidc/account/totp",
            &[("csrf", csrf.as_str())],
            Some(&cookie),
        )
        .await;
    assert_eq!(enrollment.status, StatusCode::OK);
    assert!(enrollment.body.contains("<svg role=\"img\""));
    assert!(
        enrollment
            .body
            .contains("otpauth://totp/Ferry:alice%40example.org?secret=")
    );
    assert!(
        enrollment
            .body
            .contains("action=\"/oidc/account/totp/confirm\"")
    );
    let totp = totp_from_page(&enrollment.body);
    assert_eq!(totp.issuer.as_deref(), Some("Ferry"));
    assert_eq!(totp.account_name, "alice@example.org");

    let bad = h
        .post(
            "/oidc/account/totp/confirm",
            &[("csrf", csrf.as_str()), ("otp", "12345x")],
            Some(&cookie),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("otpauth://"),
        "the QR code is shown again"
    );
    let code = totp.generate(now());
    let good = h
        .post(
            "/oidc/account/totp/confirm",
            &[("csrf", csrf.as_str()), ("otp", code.as_str())],
            Some(&cookie),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    assert!(good.body.contains("Two-step sign-in is on."));

    // The authorization endpoint now asks for a code after the password.
    let p = pkce();
    let step = h
        .submit_password(&p.challenge, "alice@example.org", PASSWORD)
        .await;
    assert_eq!(step.status, StatusCode::OK);
    assert!(step.body.contains("name=\"otp\""));
    assert!(step.body.contains("autocomplete=\"one-time-code\""));
    let (action, fields) = form(&step.body);
    assert_eq!(action, "/oidc/authorize/otp");
    let mut wrong = fields.clone();
    wrong.push(("otp".into(), "000000".into()));
    let refused = h.post(&action, &wrong, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("name=\"otp\""), "the form again");

    // The confirming code is spent; the next one works.
    let next = totp.generate(now() + 30);
    let mut right = fields;
    right.push(("otp".into(), next));
    let accepted = h.post(&action, &right, None).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    let code = query(&accepted.location(), "code").unwrap();
    assert_eq!(h.exchange(&code, &p.verifier).await.status, StatusCode::OK);

    // And the account page wants the code too.
    let without = h
        .post(
            "/oidc/account/login",
            &[("email", "alice@example.org"), ("password", PASSWORD)],
            None,
        )
        .await;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert!(without.body.contains("name=\"otp\""));
}

#[tokio::test]
async fn a_login_ticket_allows_five_codes() {
    let h = harness().await;
    let alice = h.user("alice@example.org", vec![Role::Member]).await;
    let enrollment = h.users.begin_totp(&alice.id).await.unwrap().unwrap();
    let totp = totp_rs::TOTP::from_url(&enrollment.uri).unwrap();
    assert!(
        h.users
            .confirm_totp(&alice.id, &totp.generate(now()))
            .await
            .unwrap()
    );

    let step = h
        .submit_password(&pkce().challenge, "alice@example.org", PASSWORD)
        .await;
    let (action, fields) = form(&step.body);
    for _ in 0..5 {
        let mut wrong = fields.clone();
        wrong.push(("otp".into(), "abcdef".into()));
        assert_eq!(
            h.post(&action, &wrong, None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let mut right = fields;
    right.push(("otp".into(), totp.generate(now() + 30)));
    let refused = h.post(&action, &right, None).await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "the ticket is used up"
    );
    assert!(!refused.body.contains("name=\"otp\""), "start over");
}

#[tokio::test]
async fn the_signing_key_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("ferry.db")).unwrap();
    let users = Arc::new(LocalUsers::new(db.clone()).unwrap());
    let clients = Arc::new(LocalClients::new(db).unwrap());
    let first = LocalIdp::new(
        format!("{BASE}/oidc"),
        BASE.into(),
        dir.path(),
        users.clone(),
        clients.clone(),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let pem = std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8");
    let token = first
        .key
        .sign("JWT", &serde_json::json!({ "sub": "x" }))
        .unwrap();
    drop(first);

    let second = LocalIdp::new(
        format!("{BASE}/oidc"),
        BASE.into(),
        dir.path(),
        users,
        clients,
    )
    .unwrap();
    let jwks = second.jwks_fetcher().fetch().await.unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(second.key_id()));
    let key = DecodingKey::from_jwk(jwks.find(second.key_id()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    assert!(
        jsonwebtoken::decode::<Value>(&token, &key, &validation).is_ok(),
        "old tokens still verify"
    );
}

#[tokio::test]
async fn hostile_values_are_escaped_and_pages_are_locked_down() {
    let h = harness().await;
    let p = pkce();
    let hostile = "\"><script>alert(1)</script>'";
    let mut request = standard_request(&p.challenge);
    request.retain(|(k, _)| *k != "state");
    request.push(("state", hostile.into()));
    let page = h.get(&authorize_uri(&as_pairs(&request)), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script"));
    assert!(
        page.body
            .contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;\"")
    );
    assert_eq!(
        hidden_value(&page.body, "state"),
        hostile,
        "and it round-trips"
    );

    let (action, mut fields) = form(&page.body);
    fields.push(("email".into(), hostile.into()));
    fields.push(("password".into(), "whatever".into()));
    let refused = h.post(&action, &fields, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(!refused.body.contains("<script"));

    for reply in [&page, &refused] {
        assert_eq!(
            reply.headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'"
        );
        assert_eq!(reply.headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(reply.headers[header::REFERRER_POLICY], "no-referrer");
        assert!(!reply.body.contains("<script"), "no JavaScript at all");
    }
    for input in [
        "autocomplete=\"username\"",
        "autocomplete=\"current-password\"",
        "<label for=\"email\">",
        "<label for=\"password\">",
    ] {
        assert!(page.body.contains(input), "{input}");
    }
}

#[tokio::test]
async fn logout_returns_only_to_the_portal() {
    let h = harness().await;
    let back = h
        .get(
            &format!("/oidc/logout?post_logout_redirect_uri={BASE}/&state=s1"),
            None,
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(back.location().as_str(), format!("{BASE}/?state=s1"));
    for target in [
        "https://evil.example/",
        "http://ferry.test.evil.example/",
        "http://ferry.test",
    ] {
        let uri = format!(
            "/oidc/logout?post_logout_redirect_uri={}",
            url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
        );
        let reply = h.get(&uri, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{target}");
        assert!(reply.headers.get(header::LOCATION).is_none());
        assert!(reply.body.contains("signed out"));
    }
}

#[tokio::test]
async fn the_password_can_be_changed_on_the_account_page() {
    let h = harness().await;
    h.user("alice@example.org", vec![Role::Member]).await;
    let tokens = h.login("alice@example.org", PASSWORD).await;
    let cookie = h.account_session("alice@example.org", PASSWORD, None).await;
    let other = h.account_session("alice@example.org", PASSWORD, None).await;
    let csrf = hidden_value(&h.get("/oidc/account", Some(&cookie)).await.body, "csrf");
    let change = |current: &'static str, new: &'static str| {
        let csrf = csrf.clone();
        let cookie = cookie.clone();
        let h = &h;
        async move {
            h.post(
                "/oidc/account/password",
                &[
                    ("csrf", csrf.as_str()),
                    ("current_password", current),
                    ("new_password", new),
                ],
                Some(&cookie),
            )
            .await
        }
    };
    assert_eq!(
        change("wrong password!", "a brand new password")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let short = change(PASSWORD, "short").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body.contains("at least 12 characters"));
    let done = change(PASSWORD, "a brand new password").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    let old = h
        .submit_password(&pkce().challenge, "alice@example.org", PASSWORD)
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    h.login("alice@example.org", "a brand new password").await;
    assert_oauth_error(
        &h.refresh(tokens["refresh_token"].as_str().unwrap()).await,
        "invalid_grant",
    );
    let ended = h.get("/oidc/account", Some(&other)).await;
    assert!(
        ended.body.contains("action=\"/oidc/account/login\""),
        "the other session ended"
    );
    assert!(
        h.get("/oidc/account", Some(&cookie))
            .await
            .body
            .contains("name=\"csrf\""),
        "this one did not"
    );

    let signed_out = h
        .post(
            "/oidc/account/logout",
            &[("csrf", csrf.as_str())],
            Some(&cookie),
        )
        .await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert!(
        signed_out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = h.get("/oidc/account", Some(&cookie)).await;
    assert!(after.body.contains("action=\"/oidc/account/login\""));
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let h = harness_at("https://ferry.example.org").await;
    h.user("alice@example.org", vec![Role::Member]).await;
    let login = h
        .post(
            "/oidc/account/login",
            &[("email", "alice@example.org"), ("password", PASSWORD)],
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert!(
        login.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn machine_clients_trade_their_secret_for_a_cognito_shaped_token() {
    let h = harness().await;
    let owner = h.user("ops@example.org", vec![Role::Member]).await;
    let issued = h.clients.create(&owner.id, "nightly").await.unwrap();
    let id = issued.client.id.as_str();
    let basic = |id: &str, secret: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    };
    let with_basic = |authorization: String, fields: &[(&str, &str)]| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        Request::post("/oidc/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, authorization)
            .body(Body::from(body))
            .unwrap()
    };

    // The Basic header and the form both work; the token names the client, not a person.
    let reply = h
        .send(with_basic(
            basic(id, &issued.secret),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "ferry/transfers"),
            ],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let tokens = reply.json();
    assert!(tokens.get("refresh_token").is_none() && tokens.get("id_token").is_none());
    assert_eq!(tokens["scope"], "ferry/transfers");
    let access = tokens["access_token"].as_str().unwrap();
    let jwks = h.idp.jwks_fetcher().fetch().await.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(h.idp.key_id()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation.set_issuer(&[format!("{BASE}/oidc")]);
    let claims = jsonwebtoken::decode::<Value>(access, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["client_id"], id);
    assert_eq!(claims["token_use"], "access");
    assert!(claims.get("aud").is_none() && claims.get("email").is_none());

    let form = h
        .post(
            "/oidc/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", issued.secret.as_str()),
            ],
            None,
        )
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);

    // Wrong secrets, unknown clients and no credentials are one and the same 401.
    for request in [
        with_basic(basic(id, "wrong"), &[("grant_type", "client_credentials")]),
        with_basic(
            basic("unknown", &issued.secret),
            &[("grant_type", "client_credentials")],
        ),
    ] {
        let refused = h.send(request).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.json()["error"], "invalid_client");
        assert!(refused.headers.contains_key(header::WWW_AUTHENTICATE));
    }
    let anonymous = h
        .post("/oidc/token", &[("grant_type", "client_credentials")], None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let twice = h
        .send(with_basic(
            basic(id, &issued.secret),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", issued.secret.as_str()),
            ],
        ))
        .await;
    assert_eq!(twice.json()["error"], "invalid_request");
    let scoped = h
        .send(with_basic(
            basic(id, &issued.secret),
            &[("grant_type", "client_credentials"), ("scope", "openid")],
        ))
        .await;
    assert_eq!(scoped.json()["error"], "invalid_scope");

    // A disabled owner's client gets no token; a deleted client neither.
    h.set_enabled(&owner, false).await;
    let disabled = h
        .send(with_basic(
            basic(id, &issued.secret),
            &[("grant_type", "client_credentials")],
        ))
        .await;
    assert_eq!(disabled.json()["error"], "unauthorized_client");
    h.set_enabled(&owner, true).await;
    h.clients.delete(id).await.unwrap();
    let deleted = h
        .send(with_basic(
            basic(id, &issued.secret),
            &[("grant_type", "client_credentials")],
        ))
        .await;
    assert_eq!(deleted.status, StatusCode::UNAUTHORIZED);

    let discovery = h
        .get("/oidc/.well-known/openid-configuration", None)
        .await
        .json();
    assert!(
        discovery["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("client_credentials"))
    );
}
