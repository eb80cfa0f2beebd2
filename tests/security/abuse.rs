//! Abuse of the portal's capacity and of its promise to forget: repeated actions are rate
//! limited, and confirmed transfers leave no content behind.

use crate::helpers::*;
use crate::input::{file, password};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Over `--rate-limits create-transfer=3/min,download=3/min,request-code=3/min,verify-code=3/min`
/// the 4th call of each gets 429 problem+json with an integer Retry-After of at least 1 s, and
/// does nothing: no transfer, no mail, no token, no download URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t24_rate_limits_answer_429_with_retry_after() {
    let app = spawn_logged(
        vec![
            "--rate-limits".into(),
            "create-transfer=3/min,download=3/min,request-code=3/min,verify-code=3/min".into(),
        ],
        vec![],
    )
    .await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;
    let body = b"MARKER-T24-8c8c limited\n".to_vec();
    let request = json!({ "recipients": ["bob@example.com"], "subject": "Limited", "files": [file("n.txt", &body, "text/plain")] });

    // Creating transfers.
    let mut created = Vec::new();
    for _ in 0..3 {
        let (status, t) = app
            .post("/api/v1/transfers", Some(&alice), request.clone())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        created.push(t);
    }
    limited(
        &app,
        Method::POST,
        "/api/v1/transfers",
        Some(&alice),
        Some(request.clone()),
    )
    .await;
    let (_, sent) = app.get("/api/v1/transfers?box=sent", &alice).await;
    assert_eq!(
        sent["transfers"].as_array().unwrap().len(),
        3,
        "the refused request made a transfer"
    );

    let t = &created[0];
    let tid = t["id"].as_str().unwrap().to_owned();
    let did = t["documents"][0]["id"].as_str().unwrap().to_owned();
    app.upload(&alice, t, 0, &body).await;
    app.wait_for(&alice, &tid, "the transfer to be sent", |t| {
        t["status"] == "sent"
    })
    .await;
    let link = app.link_token("bob@example.com").await;

    // Asking for codes.
    let codes_sent = || async {
        app.mails()
            .await
            .into_iter()
            .filter(|(_, subject, _)| subject.starts_with("Your Ferry code"))
            .map(|(_, subject, _)| subject.rsplit(' ').next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    for _ in 0..3 {
        let (status, body) = app
            .post("/api/v1/access", None, json!({ "link_token": link }))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(codes_sent().await.len(), 3);
    limited(
        &app,
        Method::POST,
        "/api/v1/access",
        None,
        Some(json!({ "link_token": link })),
    )
    .await;
    let codes = codes_sent().await;
    assert_eq!(codes.len(), 3, "the refused request sent a code");

    // Trying codes: three wrong ones are answered as wrong, then even the right one is held back.
    let right = codes[0].clone();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..3 {
        let (status, problem) = app
            .post(
                "/api/v1/access/verify",
                None,
                json!({ "link_token": link, "code": wrong }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    }
    let problem = limited(
        &app,
        Method::POST,
        "/api/v1/access/verify",
        None,
        Some(json!({ "link_token": link, "code": right })),
    )
    .await;
    assert!(problem.get("access_token").is_none());
    let (_, now) = app.get(&format!("/api/v1/transfers/{tid}"), &alice).await;
    assert_eq!(
        now["recipients"][0]["status"], "notified",
        "the held-back code verified the recipient: {now}"
    );

    // Downloading.
    let content = format!("/api/v1/transfers/{tid}/documents/{did}/content");
    for _ in 0..3 {
        let resp = app
            .http
            .get(app.url(&content))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    let problem = limited(&app, Method::GET, &content, Some(&alice), None).await;
    assert!(problem.get("location").is_none());

    let mut secrets = vec![
        admin.as_str(),
        alice.as_str(),
        link.as_str(),
        ADMIN_PASSWORD,
        "MARKER-T24-8c8c",
    ];
    let alice_password = password("alice@example.org");
    secrets.push(&alice_password);
    secrets.extend(codes.iter().map(String::as_str));
    app.assert_log_free_of(&secrets);
}

/// Once the recipient confirms receipt, the documents are purged: their content routes answer
/// 410, old download URLs find nothing, no byte of them or their text is left in the data dir,
/// and the audit trail (which outlives them) records the purge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t25_purged_documents_leave_no_bytes_behind() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;
    let notes = b"Board minutes\nMARKER-T25-NOTES-1f1f was agreed.\n".to_vec();
    let ledger = csv(3 * 1024 * 1024, "MARKER-T25-LEDGER-2e2e");
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Purge me", "files": [
                file("notes.txt", &notes, "text/plain"),
                file("ledger.csv", &ledger, "text/csv"),
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    app.upload(&alice, &t, 0, &notes).await;
    app.upload(&alice, &t, 1, &ledger).await;
    let t = app
        .wait_for(&alice, &tid, "the transfer to be sent", |t| {
            t["status"] == "sent"
        })
        .await;
    let ids: Vec<String> = (0..2)
        .map(|i| t["documents"][i]["id"].as_str().unwrap().to_owned())
        .collect();

    // Before: the bytes and the extracted text are there, and the recipient reads them.
    assert!(dir_contains(&app.data_dir, b"MARKER-T25-NOTES-1f1f").is_some());
    let link = app.link_token("bob@example.com").await;
    let bob = app.recipient_token(&link, "bob@example.com").await;
    let mut locations = Vec::new();
    for did in &ids {
        let resp = app
            .http
            .get(app.url(&format!("/api/v1/transfers/{tid}/documents/{did}/content")))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(
            app.http.get(&location).send().await.unwrap().status(),
            StatusCode::OK
        );
        locations.push(location);
        let (status, _) = app
            .get(
                &format!("/api/v1/transfers/{tid}/documents/{did}/text"),
                &bob,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    let (status, done) = app
        .post(
            &format!("/api/v1/transfers/{tid}/receipt"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    let t = app
        .wait_for(&alice, &tid, "the purge", |t| !t["purged_at"].is_null())
        .await;
    app.wait_until_idle().await;

    for (did, location) in ids.iter().zip(&locations) {
        let doc = t["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == did.as_str())
            .unwrap();
        assert_eq!(doc["status"], "purged", "{doc}");
        assert_eq!(doc["text_preview"], Value::Null);
        for (who, token) in [("the recipient", &bob), ("the sender", &alice)] {
            for route in ["content", "text"] {
                let (status, problem) = app
                    .call(
                        Method::GET,
                        &format!("/api/v1/transfers/{tid}/documents/{did}/{route}"),
                        Some(token),
                        None,
                    )
                    .await;
                assert!(
                    [
                        StatusCode::GONE,
                        StatusCode::NOT_FOUND,
                        StatusCode::UNAUTHORIZED
                    ]
                    .contains(&status),
                    "{who} {route}: {status} {problem}"
                );
            }
        }
        assert_eq!(
            app.http.get(location).send().await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "an old download URL found the bytes"
        );
    }
    let (status, _) = app
        .post("/api/v1/access", None, json!({ "link_token": link }))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the link outlived the transfer"
    );

    for needle in [
        &b"MARKER-T25-NOTES-1f1f"[..],
        b"MARKER-T25-LEDGER-2e2e",
        &ledger[2 * 1024 * 1024..2 * 1024 * 1024 + 64],
    ] {
        assert_eq!(
            dir_contains(&app.data_dir, needle),
            None,
            "content survived the purge"
        );
    }

    let actions = app.audit_actions(&alice, &tid).await;
    for action in [
        "document.downloaded",
        "recipient.received",
        "transfer.purged",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing from {actions:?}"
        );
    }
    let (status, audit) = app
        .get(&format!("/api/v1/admin/audit?transfer_id={tid}"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(audit.to_string().contains("transfer.purged"));
    assert!(
        !audit.to_string().contains("MARKER-T25"),
        "content in the audit trail"
    );

    app.assert_log_free_of(&[
        &admin,
        &alice,
        &bob,
        &link,
        ADMIN_PASSWORD,
        &password("alice@example.org"),
        "MARKER-T25-NOTES-1f1f",
        "MARKER-T25-LEDGER-2e2e",
    ]);
}

/// Makes the call, which must be refused as too many: 429 problem+json with a whole number of
/// seconds of at least 1 in Retry-After. Returns the problem.
async fn limited(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let mut req = app.http.request(method.clone(), app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "{method} {path}"
    );
    let retry_after = resp
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("{method} {path}: no Retry-After"))
        .to_str()
        .unwrap()
        .to_owned();
    let seconds: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("{method} {path}: Retry-After {retry_after:?}"));
    assert!(seconds >= 1, "{method} {path}: Retry-After {seconds}");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["status"], 429, "{problem}");
    assert!(
        problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{problem}"
    );
    problem
}
