//! UC1 and UC2 end to end: sign in, upload (multipart and single), validation, extraction,
//! notification, recipient access, byte-exact download, webhook delivery, receipts, purge.

use crate::helpers::*;
use axum::body::Bytes;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;

/// A webhook receiver on 127.0.0.1 that records what it gets.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// The recipient's bucket: takes presigned PUTs on 127.0.0.1 and records, per object, the
/// `Content-MD5` it was sent with and the MD5 of the bytes that arrived.
async fn bucket_receiver() -> (String, Arc<Mutex<Vec<(String, String, String)>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let app = axum::Router::new()
        .route(
            "/bucket/{name}",
            axum::routing::put(
                move |axum::extract::Path(name): axum::extract::Path<String>,
                      headers: HeaderMap,
                      body: Bytes| {
                    let store = store.clone();
                    async move {
                        let sent = headers["content-md5"].to_str().unwrap().to_owned();
                        store.lock().unwrap().push((name, sent, md5_b64(&body)));
                        StatusCode::OK
                    }
                },
            ),
        )
        .layer(axum::extract::DefaultBodyLimit::disable());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bucket", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn doc<'a>(t: &'a Value, name: &str) -> &'a Value {
    t["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_receive_deliver_and_purge() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;
    let carol = app.user(&admin, "carol@example.net", &["member"]).await;

    let (status, me) = app.get("/api/v1/me", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "alice@example.org");
    assert_eq!(me["roles"], json!(["member"]));

    let big = csv(64 * MIB + 12345, "MARKER-BIG-7f3a9c");
    let notes = b"Minutes of the meeting\nMARKER-NOTES-5e1d2b was agreed.\n".to_vec();
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.extend_from_slice(&noise(4096, 7));

    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({
                "recipients": ["bob@example.com", "carol@example.net"],
                "subject": "Board pack",
                "message": "Everything for Thursday.",
                "files": [
                    { "name": "ledger.csv", "size": big.len(), "content_type": "text/csv", "md5": md5_b64(&big) },
                    { "name": "notes.txt", "size": notes.len(), "content_type": "text/plain", "md5": md5_b64(&notes) },
                    { "name": "report.pdf", "size": elf.len(), "content_type": "application/pdf", "md5": md5_b64(&elf) },
                ]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    assert_eq!(t["status"], "uploading");
    assert!(
        doc(&t, "ledger.csv")["upload"]["part_size"]
            .as_u64()
            .is_some(),
        "a large file is uploaded in parts"
    );
    assert_eq!(doc(&t, "notes.txt")["upload"]["method"], "PUT");

    let started = Instant::now();
    app.upload(&alice, &t, 0, &big).await;
    eprintln!("64 MiB multipart upload took {:?}", started.elapsed());
    app.upload(&alice, &t, 1, &notes).await;
    app.upload(&alice, &t, 2, &elf).await;

    let t = app
        .wait_for(&alice, &tid, "the transfer to be sent", |t| {
            t["status"] == "sent"
        })
        .await;
    let ledger = doc(&t, "ledger.csv");
    assert_eq!(ledger["status"], "ready");
    assert_eq!(ledger["detected_type"], "text/csv");
    assert_eq!(ledger["sha256"], hex::encode(Sha256::digest(&big)));
    assert_eq!(ledger["engine"], "native");
    assert_eq!(
        ledger["text_truncated"], true,
        "64 MiB of text is more than is extracted"
    );
    assert!(
        ledger["text_preview"]
            .as_str()
            .unwrap()
            .contains("MARKER-BIG-7f3a9c")
    );
    assert_eq!(doc(&t, "notes.txt")["pages"], 1);
    let rejected = doc(&t, "report.pdf");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reason"], "type_not_allowed");
    assert!(
        ledger.get("upload").is_none(),
        "no upload plan once the bytes are in"
    );

    // The sender's receipt lists what was accepted and what was not.
    let receipt = app
        .wait_for_mail("alice@example.org", "Sent: Board pack", 1)
        .await;
    assert!(receipt[0].2.contains("report.pdf"));

    // Bob is not registered: link, emailed code, recipient token.
    let link = app.link_token("bob@example.com").await;
    let bob = app.recipient_token(&link, "bob@example.com").await;
    let (status, seen) = app.get(&format!("/api/v1/transfers/{tid}"), &bob).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        seen["recipients"].as_array().unwrap().len(),
        1,
        "a recipient sees only themselves"
    );
    assert_eq!(seen["recipients"][0]["status"], "verified");
    let ledger_id = ledger["id"].as_str().unwrap();

    // Byte-exact download through the 303.
    let resp = app
        .http
        .get(app.url(&format!(
            "/api/v1/transfers/{tid}/documents/{ledger_id}/content"
        )))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let download = app.http.get(&location).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("ledger.csv"),
        "{disposition}"
    );
    let mut hasher = Sha256::new();
    let mut stream = download.bytes_stream();
    let mut size = 0;
    use futures_util::StreamExt;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        size += chunk.len();
        hasher.update(&chunk);
    }
    assert_eq!(size, big.len());
    assert_eq!(
        hex::encode(hasher.finalize()),
        hex::encode(Sha256::digest(&big))
    );
    // A tampered download URL is refused.
    let tampered = location.replace("sig=", "sig=00");
    assert_eq!(
        app.http.get(&tampered).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    let notes_id = doc(&t, "notes.txt")["id"].as_str().unwrap();
    let (status, text) = app
        .get(
            &format!("/api/v1/transfers/{tid}/documents/{notes_id}/text"),
            &bob,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text["pages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("MARKER-NOTES-5e1d2b")
    );

    // Webhook delivery to a receiver on 127.0.0.1, signed with Bob's secret.
    let (hook, received) = webhook_receiver().await;
    let secret = "bob-s-webhook-secret-0123456789";
    let (status, delivery) = app
        .post(
            &format!("/api/v1/transfers/{tid}/deliveries"),
            Some(&bob),
            json!({ "destination": { "type": "webhook", "url": hook, "secret": secret } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{delivery}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the webhook never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (headers, body) = received.lock().unwrap()[0].clone();
    let signature = headers["ferry-signature"].to_str().unwrap();
    let (t_part, v1) = signature.split_once(",v1=").unwrap();
    let timestamp = t_part.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&body);
    assert_eq!(
        hex::encode(mac.finalize().into_bytes()),
        v1,
        "the signature covers the body"
    );
    let manifest: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(manifest["transfer_id"], tid);
    let entry = manifest["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "notes.txt")
        .unwrap();
    let fetched = app
        .http
        .get(entry["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&fetched[..], &notes[..]);
    let t = app
        .wait_for(&alice, &tid, "the delivery outcome", |t| {
            t["deliveries"][0]["status"] == "succeeded"
        })
        .await;
    assert_eq!(t["deliveries"][0]["type"], "webhook");

    // Delivery into the recipient's own bucket through presigned PUT URLs they supply.
    let (bucket, objects) = bucket_receiver().await;
    let ready: Vec<&Value> = t["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "ready")
        .collect();
    let urls: serde_json::Map<String, Value> = ready
        .iter()
        .map(|d| {
            let id = d["id"].as_str().unwrap();
            (id.to_owned(), json!(format!("{bucket}/{id}")))
        })
        .collect();
    let (status, delivery) = app
        .post(
            &format!("/api/v1/transfers/{tid}/deliveries"),
            Some(&bob),
            json!({ "destination": { "type": "s3_presigned", "urls": urls } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{delivery}");
    app.wait_for(&alice, &tid, "the bucket delivery", |t| {
        t["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["type"] == "s3_presigned" && d["status"] == "succeeded")
    })
    .await;
    let objects = objects.lock().unwrap().clone();
    assert_eq!(objects.len(), ready.len());
    for d in &ready {
        let (_, sent, arrived) = objects
            .iter()
            .find(|(name, _, _)| name == d["id"].as_str().unwrap())
            .expect("every ready document is delivered");
        assert_eq!(sent, d["md5"].as_str().unwrap(), "sent with its MD5");
        assert_eq!(arrived, sent, "and the bytes match it");
    }

    // Carol is registered: her inbox shows the transfer, and she uses her own token.
    let (status, inbox) = app.get("/api/v1/transfers?box=received", &carol).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        inbox["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == tid.as_str())
    );
    let (status, after_carol) = app
        .post(
            &format!("/api/v1/transfers/{tid}/receipt"),
            Some(&carol),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{after_carol}");
    assert_eq!(after_carol["status"], "sent", "Bob has not confirmed yet");

    let (status, done) = app
        .post(
            &format!("/api/v1/transfers/{tid}/receipt"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    assert!(
        done["documents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["text_preview"].is_null())
    );

    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/transfers/{tid}/documents/{ledger_id}/content"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(
        app.http.get(&location).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "old download URLs find nothing"
    );
    let (status, _) = app
        .post("/api/v1/access", None, json!({ "link_token": link }))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the link died with the transfer"
    );

    // Not one byte of the documents or their text remains anywhere in the data dir.
    for needle in [
        &b"MARKER-BIG-7f3a9c"[..],
        b"MARKER-NOTES-5e1d2b",
        &big[40 * MIB..40 * MIB + 64],
        &elf[100..164],
    ] {
        assert_eq!(
            dir_contains(&app.data_dir, needle),
            None,
            "content survived the purge"
        );
    }

    // The trail outlives the content.
    let actions = app.audit_actions(&alice, &tid).await;
    for action in [
        "transfer.created",
        "document.validated",
        "document.rejected",
        "recipient.notified",
        "access.code_sent",
        "access.verified",
        "document.downloaded",
        "delivery.succeeded",
        "recipient.received",
        "transfer.purged",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing from {actions:?}"
        );
    }
    let (status, audit) = app
        .get(
            &format!("/api/v1/admin/audit?transfer_id={tid}&limit=5"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit["events"].as_array().unwrap().len(), 5);
    let cursor = audit["next_cursor"].as_str().unwrap();
    let (status, next) = app
        .get(
            &format!("/api/v1/admin/audit?transfer_id={tid}&limit=5&cursor={cursor}"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(next["events"][0], audit["events"][0]);
    let (status, _) = app.get("/api/v1/admin/audit", &alice).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_cancels_and_content_is_gone() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;
    let eve = app.user(&admin, "eve@example.org", &["member"]).await;
    let body = b"MARKER-CANCEL-91ab a short note\n".to_vec();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Oops", "files": [{ "name": "n.txt", "size": body.len(), "content_type": "text/plain", "md5": md5_b64(&body) }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let tid = t["id"].as_str().unwrap().to_owned();
    app.upload(&alice, &t, 0, &body).await;
    app.wait_for(&alice, &tid, "sent", |t| t["status"] == "sent")
        .await;

    // Someone else's transfer answers like a missing one.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/transfers/{tid}"),
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, missing) = app
        .get(&format!("/api/v1/transfers/{}", uuid::Uuid::new_v4()), &eve)
        .await;
    let (_, foreign) = app.get(&format!("/api/v1/transfers/{tid}"), &eve).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing, foreign);

    let (status, cancelled) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/transfers/{tid}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(dir_contains(&app.data_dir, b"MARKER-CANCEL-91ab"), None);
}
