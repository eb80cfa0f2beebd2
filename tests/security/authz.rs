//! Authorisation between signed-in users: other members' transfers and the admin routes
//! (t09, t10).

use crate::helpers::*;
use crate::tokens::{all_codes, member, sent_transfer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::Path;

/// Every transfer route aimed at another member's transfer (or one not yet notified to the caller)
/// answers exactly like a missing transfer, and nothing about it changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t09_another_users_transfer_answers_like_a_missing_one() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let (alice_password, tokens) = member(&app, &admin, "alice@example.org").await;
    let alice = tokens["access_token"].as_str().unwrap().to_owned();
    let (bert_password, tokens) = member(&app, &admin, "bert@example.org").await;
    let bert = tokens["access_token"].as_str().unwrap().to_owned();
    let (carl_password, tokens) = member(&app, &admin, "carl@example.org").await;
    let carl = tokens["access_token"].as_str().unwrap().to_owned();

    let marker = "MARKER-T09-mine-6e2b";
    let sent = sent_transfer(&app, &alice, &["bob@example.com"], "Alice's", marker).await;
    let sent_id = sent["id"].as_str().unwrap().to_owned();
    let sent_doc = sent["documents"][0]["id"].as_str().unwrap().to_owned();
    app.wait_for(&alice, &sent_id, "Bob to be notified", |t| {
        t["recipients"][0]["status"] == "notified"
    })
    .await;
    // Still uploading, to Carl: a recipient sees nothing before being notified.
    let small = b"small file".to_vec();
    let (status, up) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["carl@example.org"], "subject": "In progress", "files": [
                { "name": "a.txt", "size": small.len(), "content_type": "text/plain", "md5": md5_b64(&small) },
                { "name": "big.txt", "size": 20 * 1024 * 1024, "content_type": "text/plain", "md5": md5_b64(b"big") }
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    let up_id = up["id"].as_str().unwrap().to_owned();
    let up_small = up["documents"][0]["id"].as_str().unwrap().to_owned();
    let up_big = up["documents"][1]["id"].as_str().unwrap().to_owned();

    let before = snapshot(&app, &alice, &[&sent_id, &up_id]).await;

    let nobody = uuid::Uuid::new_v4().to_string();
    let nodoc = uuid::Uuid::new_v4().to_string();
    let random_doc = uuid::Uuid::new_v4().to_string();
    let targets = [
        (&bert, &sent_id, &sent_doc),
        (&bert, &sent_id, &random_doc),
        (&bert, &up_id, &up_small),
        (&bert, &up_id, &up_big),
        (&carl, &up_id, &up_small),
        (&carl, &up_id, &up_big),
        (&carl, &sent_id, &sent_doc),
    ];
    let mut tried = 0;
    for (who, tid, did) in targets {
        for ((method, path, body), (_, missing_path, _)) in
            routes(tid, did).into_iter().zip(routes(&nobody, &nodoc))
        {
            let (status, answer) = app
                .call(method.clone(), &path, Some(who), body.clone())
                .await;
            let (missing_status, missing) = app
                .call(method.clone(), &missing_path, Some(who), body)
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
            assert_eq!(
                (status, without_ids(&answer, &[tid, did])),
                (missing_status, without_ids(&missing, &[&nobody, &nodoc])),
                "{method} {path}"
            );
            tried += 1;
        }
    }
    assert_eq!(tried, 7 * 9);
    // Nor do they find it in their own lists.
    for (who, mailbox) in [
        (&bert, "sent"),
        (&bert, "received"),
        (&carl, "sent"),
        (&carl, "received"),
    ] {
        let (status, list) = app
            .get(&format!("/api/v1/transfers?box={mailbox}"), who)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["transfers"], json!([]), "{mailbox}: {list}");
    }

    let after = snapshot(&app, &alice, &[&sent_id, &up_id]).await;
    assert_eq!(after, before, "the attempts changed something");
    assert_eq!(after.0[0].0["status"], "sent");
    assert_eq!(after.0[1].0["status"], "uploading");

    let mut secrets = vec![
        alice,
        bert,
        carl,
        admin,
        alice_password,
        bert_password,
        carl_password,
        marker.to_owned(),
    ];
    secrets.extend(all_codes(&app).await);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// A member (or a demoted admin's old token) gets the same 403 on every admin route, raising
/// their own role included, and nothing changes; an admin can do each of these.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_members_cannot_use_admin_routes() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let (mia_password, tokens) = member(&app, &admin, "mia@example.org").await;
    let mia = tokens["access_token"].as_str().unwrap().to_owned();
    let tom_password = "tom-has-a-long-password";
    let (status, tom) = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "email": "tom@example.org", "name": "Tom", "roles": ["member"], "password": tom_password }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tom}");
    let tom_id = tom["id"].as_str().unwrap().to_owned();
    let mia_id = app.get("/api/v1/me", &mia).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_id = app.get("/api/v1/me", &admin).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let nobody = uuid::Uuid::new_v4().to_string();

    let users_before = app.get("/api/v1/admin/users", &admin).await.1;
    let admin_actions_before = admin_actions(&app, &admin).await;

    let user = |id: &str| format!("/api/v1/admin/users/{id}");
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/admin/users".into(), None),
        (
            Method::POST,
            "/api/v1/admin/users".into(),
            Some(
                json!({ "email": "mallory@example.org", "name": "M", "roles": ["admin"], "password": "mallory-long-password" }),
            ),
        ),
        // Refused before the body is read: a broken body answers the same 403, not a 400.
        (
            Method::POST,
            "/api/v1/admin/users".into(),
            Some(json!("not a user")),
        ),
        (
            Method::PATCH,
            user(&mia_id),
            Some(json!({ "roles": ["admin", "member"] })),
        ),
        (
            Method::PATCH,
            user(&tom_id),
            Some(json!({ "enabled": false })),
        ),
        (
            Method::PATCH,
            user(&admin_id),
            Some(json!({ "enabled": false, "roles": ["member"] })),
        ),
        (Method::PATCH, user(&nobody), Some(json!({ "name": "X" }))),
        (Method::DELETE, user(&tom_id), None),
        (Method::DELETE, user(&admin_id), None),
        (Method::DELETE, user(&nobody), None),
        (Method::GET, "/api/v1/admin/audit".into(), None),
        (
            Method::GET,
            format!("/api/v1/admin/audit?actor=user:{admin_id}"),
            None,
        ),
    ];
    let mut answers = Vec::new();
    for (method, path, body) in &cases {
        let (status, answer) = app
            .call(method.clone(), path, Some(&mia), body.clone())
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        answers.push(answer);
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "the refusal says nothing about the target: {answers:?}"
    );

    // Nothing changed.
    assert_eq!(app.get("/api/v1/admin/users", &admin).await.1, users_before);
    assert_eq!(admin_actions(&app, &admin).await, admin_actions_before);
    let mia_again = app.token("mia@example.org", &mia_password).await;
    assert_eq!(
        app.get("/api/v1/me", &mia_again).await.1["roles"],
        json!(["member"])
    );
    let tom_token = app.token("tom@example.org", tom_password).await;
    assert_eq!(app.get("/api/v1/me", &tom_token).await.0, StatusCode::OK);
    let (status, _) = app.get("/api/v1/admin/users", &mia_again).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An admin demoted to member: their unexpired token, which still says `admin`, is refused
    // on the admin routes at once.
    let (ada_password, ada) = ("ada-has-a-long-password", "ada@example.org");
    let (status, body) = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "email": ada, "name": "Ada", "roles": ["admin", "member"], "password": ada_password }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ada_id = body["id"].as_str().unwrap().to_owned();
    let ada_token = app.token(ada, ada_password).await;
    assert_eq!(
        app.get("/api/v1/admin/users", &ada_token).await.0,
        StatusCode::OK
    );
    let (status, _) = app
        .call(
            Method::PATCH,
            &user(&ada_id),
            Some(&admin),
            Some(json!({ "roles": ["member"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = app.get("/api/v1/admin/users", &ada_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(answer, answers[0]);
    let (status, _) = app
        .call(
            Method::PATCH,
            &user(&ada_id),
            Some(&ada_token),
            Some(json!({ "roles": ["admin", "member"] })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin_actions_before = admin_actions(&app, &admin).await;

    // The admin can.
    let (status, list) = app.get("/api/v1/admin/users", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.to_string().contains("tom@example.org"));
    let (status, changed) = app
        .call(
            Method::PATCH,
            &user(&tom_id),
            Some(&admin),
            Some(json!({ "name": "Tom T." })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Tom T.");
    let (status, temp) = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "email": "temp@example.org", "name": "Temp", "password": "temp-long-password" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{temp}");
    let (status, _) = app
        .call(
            Method::DELETE,
            &user(temp["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, audit) = app
        .get(
            &format!("/api/v1/admin/audit?actor=user:{admin_id}"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(audit.to_string().contains("user.changed"));
    assert_eq!(
        admin_actions(&app, &admin).await.len(),
        admin_actions_before.len() + 3,
        "changed, created, deleted"
    );

    app.assert_log_free_of(&[
        &mia,
        &mia_again,
        &tom_token,
        &admin,
        &mia_password,
        &ada_token,
        ada_password,
        tom_password,
        "mallory-long-password",
        "temp-long-password",
        ADMIN_PASSWORD,
    ]);
}

/// What the sender sees of their transfers and their trails, the outbox's size and the number
/// of stored objects.
async fn snapshot(
    app: &TestApp,
    sender: &str,
    tids: &[&str],
) -> (Vec<(Value, Value)>, usize, usize) {
    let mut views = Vec::new();
    for tid in tids {
        let (status, mut view) = app.get(&format!("/api/v1/transfers/{tid}"), sender).await;
        assert_eq!(status, StatusCode::OK);
        // Upload plans are signed afresh on every read; the rest must not move.
        strip_uploads(&mut view);
        let (status, events) = app
            .get(&format!("/api/v1/transfers/{tid}/events"), sender)
            .await;
        assert_eq!(status, StatusCode::OK);
        views.push((view, events));
    }
    (
        views,
        app.mails().await.len(),
        count_files(&app.data_dir.join("objects")),
    )
}

/// Every route of one transfer (openapi.yaml), with a body each would accept.
fn routes(tid: &str, did: &str) -> Vec<(Method, String, Option<Value>)> {
    let t = format!("/api/v1/transfers/{tid}");
    let d = format!("{t}/documents/{did}");
    vec![
        (Method::GET, t.clone(), None),
        (Method::DELETE, t.clone(), None),
        (
            Method::POST,
            format!("{d}/parts"),
            Some(json!({ "parts": [{ "number": 1, "md5": md5_b64(b"x") }] })),
        ),
        (
            Method::POST,
            format!("{d}/complete"),
            Some(json!({ "parts": [{ "number": 1, "etag": "\"abc\"" }], "md5": md5_b64(b"big") })),
        ),
        (Method::GET, format!("{d}/content"), None),
        (Method::GET, format!("{d}/text"), None),
        (
            Method::POST,
            format!("{t}/deliveries"),
            Some(
                json!({ "destination": { "type": "webhook", "url": "https://example.com/hook", "secret": "0123456789abcdef0123" } }),
            ),
        ),
        (Method::POST, format!("{t}/receipt"), Some(json!({}))),
        (Method::GET, format!("{t}/events"), None),
    ]
}

/// The answer with these ids replaced, so that two answers compare on everything else.
fn without_ids(answer: &Value, ids: &[&str]) -> String {
    let mut text = answer.to_string();
    for id in ids {
        text = text.replace(id, "{id}");
    }
    text
}

fn strip_uploads(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("upload");
            map.values_mut().for_each(strip_uploads);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_uploads),
        _ => {}
    }
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { count_files(&p) } else { 1 })
        .sum()
}

/// The administrative actions in the audit trail, oldest first.
async fn admin_actions(app: &TestApp, admin: &str) -> Vec<Value> {
    let (status, page) = app.get("/api/v1/admin/audit?limit=1000", admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("user."))
        .cloned()
        .collect()
}
