//! R4: admins add, modify and delete users; disabled and deleted users are locked out at once.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_and_lockouts_take_effect_immediately() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let password = "dave-has-a-long-password";
    let (status, dave) = app
        .post("/api/v1/admin/users", Some(&admin), json!({ "email": "Dave@Example.org", "name": "Dave", "roles": ["member"], "password": password }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dave}");
    assert_eq!(dave["email"], "dave@example.org");
    assert_eq!(dave["enabled"], true);
    let uid = dave["id"].as_str().unwrap().to_owned();

    let (status, _) = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "email": "dave@example.org", "name": "Dave 2", "password": password }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let tokens = app.login("dave@example.org", password).await.unwrap();
    let dave_token = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, _) = app.get("/api/v1/me", &dave_token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get("/api/v1/admin/users", &dave_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "members are not admins");
    assert_eq!(
        app.login("dave@example.org", "wrong-password-123")
            .await
            .unwrap_err(),
        StatusCode::UNAUTHORIZED
    );

    let (status, changed) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{uid}"),
            Some(&admin),
            Some(json!({ "name": "David", "roles": ["member", "admin"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "David");
    assert_eq!(changed["roles"], json!(["admin", "member"]));

    let (status, disabled) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{uid}"),
            Some(&admin),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(disabled["enabled"], false);
    let (status, _) = app.get("/api/v1/me", &dave_token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled user's unexpired token stops working"
    );
    assert!(
        app.login("dave@example.org", password).await.is_err(),
        "and they cannot sign in"
    );
    let refresh = app
        .http
        .post(app.url("/oidc/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", "ferry-web"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refresh.status(),
        StatusCode::BAD_REQUEST,
        "nor refresh their session"
    );

    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{uid}"),
            Some(&admin),
            Some(json!({ "enabled": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let dave_token = app.token("dave@example.org", password).await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/users/{uid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/me", &dave_token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deleted user's token stops working"
    );
    assert!(app.login("dave@example.org", password).await.is_err());
    let (status, list) = app.get("/api/v1/admin/users", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != uid.as_str())
    );
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/users/{uid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_jwks_are_served() {
    let app = spawn_app().await;
    let discovery = app
        .public_json("/oidc/.well-known/openid-configuration")
        .await;
    assert_eq!(discovery["issuer"], app.url("/oidc"));
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    let jwks: serde_json::Value = app
        .http
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private key material"
    );
}

/// The first `<code>…</code>` after `label` on a page, unescaped.
fn code_after(html: &str, label: &str) -> String {
    let at = html.find(label).expect(label) + label.len();
    let start = html[at..].find("<code>").unwrap() + at + "<code>".len();
    let end = html[start..].find("</code>").unwrap() + start;
    html[start..end]
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrollment_on_the_account_page_adds_an_otp_step_to_sign_in() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.user(&admin, "erin@example.org", &["member"]).await;
    let password = "erin@example.org-password-123";
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .unwrap();

    let page = browser
        .post(app.url("/oidc/account/login"))
        .form(&[
            ("email", "erin@example.org"),
            ("password", password),
            ("otp", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = browser
        .get(app.url("/oidc/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Off: your password alone signs you in."),
        "{page}"
    );

    // Start enrollment: a QR code and the otpauth URI.
    let section = &page[page.find("<h2>Two-step").unwrap()..];
    let (action, fields) = form(&section[..section.find("</form>").unwrap()]);
    assert_eq!(action, "/oidc/account/totp");
    let enrollment = browser
        .post(app.url(&action))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(enrollment.status(), StatusCode::OK);
    let enrollment = enrollment.text().await.unwrap();
    assert!(enrollment.contains("<svg"), "a QR code is shown");
    let uri = code_after(&enrollment, "Setup link:");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let totp = totp_rs::TOTP::from_url(&uri).unwrap();
    let (confirm, mut fields) = form(&enrollment);
    fields.push(("otp".into(), "000000".into()));
    let wrong = browser
        .post(app.url(&confirm))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong.status(),
        StatusCode::BAD_REQUEST,
        "a wrong code does not turn it on"
    );
    fields.pop();
    fields.push(("otp".into(), totp.generate_current().unwrap()));
    let on = browser
        .post(app.url(&confirm))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(on.status(), StatusCode::OK);
    assert!(on.text().await.unwrap().contains("Two-step sign-in is on."));

    // Signing in now needs the code; the confirming code was spent, so use the next one.
    assert_eq!(
        app.login_with_otp("erin@example.org", password, Some("000000"))
            .await
            .unwrap_err(),
        StatusCode::UNAUTHORIZED
    );
    let next = totp.generate(chrono::Utc::now().timestamp() as u64 + 30);
    let tokens = app
        .login_with_otp("erin@example.org", password, Some(&next))
        .await
        .unwrap();
    let (status, me) = app
        .get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "erin@example.org");

    // Each step is in the audit trail, newest first, with where it came from and never what
    // was typed.
    let typed = "typed-in-the-wrong-field";
    assert_eq!(
        app.login(typed, "erin@example.org-password-123")
            .await
            .unwrap_err(),
        StatusCode::UNAUTHORIZED
    );
    let erin = me["id"].as_str().unwrap();
    let (status, trail) = app
        .get(&format!("/api/v1/admin/audit?actor=user:{erin}"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let steps: Vec<(&str, &str, &str)> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "user.created")
        .map(|e| {
            assert!(e["source_ip"].is_string(), "{e}");
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
                e["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (
                "user.signed_in",
                "success",
                "portal, password and one-time code"
            ),
            (
                "user.sign_in_failed",
                "denied",
                "portal, password and one-time code: wrong one-time code"
            ),
            ("user.two_step_enabled", "success", "account page"),
            ("user.signed_in", "success", "account page"),
            ("user.signed_in", "success", "portal, password"),
        ]
    );
    let (_, everyone) = app.get("/api/v1/admin/audit?limit=5", &admin).await;
    let newest = &everyone["events"][0];
    assert_eq!(newest["action"], "user.sign_in_failed");
    assert_eq!(newest["actor"], "anonymous");
    assert_eq!(newest["detail"], "portal, password: no such account");
    assert!(!everyone.to_string().contains(typed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_client_sends_as_its_owner_until_an_admin_deletes_it() {
    let app = spawn_logged(Vec::new(), Vec::new()).await;
    let admin = app.admin_token().await;
    app.user(&admin, "ops@example.org", &["member", "admin"])
        .await;
    let (status, issued) = app
        .post(
            "/api/v1/admin/clients",
            Some(&admin),
            json!({ "name": "nightly export", "owner_email": "Ops@Example.org" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let client_id = issued["client_id"].as_str().unwrap().to_owned();
    let secret = issued["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(issued["name"], "nightly export");

    let (status, bad) = app
        .post(
            "/api/v1/admin/clients",
            Some(&admin),
            json!({ "name": "x", "owner_email": "nobody@example.org" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad["detail"].as_str().unwrap().contains("owner_email"));
    let member = app.user(&admin, "mia@example.org", &["member"]).await;
    let (status, _) = app
        .post(
            "/api/v1/admin/clients",
            Some(&member),
            json!({ "name": "x", "owner_email": "mia@example.org" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let machine_token = || async {
        let response = app
            .http
            .post(app.url("/oidc/token"))
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json::<serde_json::Value>().await.unwrap(),
        )
    };
    let (status, tokens) = machine_token().await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap().to_owned();

    // It is the owner, as a member only.
    let (status, me) = app.get("/api/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "ops@example.org");
    assert_eq!(me["roles"], json!(["member"]));
    let (status, _) = app.get("/api/v1/admin/users", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bytes = b"nightly figures\n";
    let (status, transfer) = app
        .post(
            "/api/v1/transfers",
            Some(&token),
            json!({
                "recipients": ["bob@example.com"],
                "subject": "Nightly export",
                "files": [{ "name": "figures.txt", "size": bytes.len(), "content_type": "text/plain", "md5": md5_b64(bytes) }],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{transfer}");
    app.upload(&token, &transfer, 0, bytes).await;

    let (status, listed) = app.get("/api/v1/admin/clients", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["clients"][0]["client_id"], client_id.as_str());
    assert!(listed["clients"][0].get("client_secret").is_none());

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/clients/{client_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/me", &token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deleted client's unexpired token stops working"
    );
    let (status, _) = machine_token().await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/v1/admin/clients/not-an-id!",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let actions: Vec<String> = app.get("/api/v1/admin/audit", &admin).await.1["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.contains(&"client.created".to_owned()));
    assert!(actions.contains(&"client.deleted".to_owned()));
    app.assert_log_free_of(&[&secret, &token]);
}
