//! Drop folders on the local disk: settings over the API, files and manifests put in
//! `DATA_DIR/inbox/{owner}/` becoming transfers, refused batches set aside with a reason.

use crate::helpers::{csv, md5_b64, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn files_put_in_a_drop_folder_become_transfers() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let dora = app.user(&admin, "dora@example.org", &["member"]).await;

    let (status, folder) = app.get("/api/v1/me/drop-folder", &dora).await;
    assert_eq!(status, StatusCode::OK, "{folder}");
    let location = folder["location"].as_str().unwrap().to_owned();
    let inbox = app.data_dir.join("inbox");
    assert!(location.starts_with(inbox.to_str().unwrap()), "{location}");
    assert_eq!(folder["default_recipients"], json!([]));

    // Bad settings are refused and change nothing.
    let (status, problem) = app
        .call(
            Method::PUT,
            "/api/v1/me/drop-folder",
            Some(&dora),
            Some(json!({ "default_recipients": ["carol@example.com", "not-an-address"] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("default_recipients:"),
        "{problem}"
    );
    let (_, unchanged) = app.get("/api/v1/me/drop-folder", &dora).await;
    assert_eq!(unchanged["default_recipients"], json!([]));

    // A batch in a sub-folder, sent when its manifest arrives.
    let batch = std::path::Path::new(&location).join("nightly");
    std::fs::create_dir_all(&batch).unwrap();
    let ledger = csv(40_000, "MARKER-DROP-5c1d");
    std::fs::write(batch.join("ledger.csv"), &ledger).unwrap();
    std::fs::write(batch.join("notes.txt"), b"Tonight's export.\n").unwrap();
    std::fs::write(
        batch.join("send.ferry.json"),
        json!({
            "recipients": ["bob@example.com"],
            "subject": "Nightly export",
            "files": [{ "name": "ledger.csv", "md5": md5_b64(&ledger) }, "notes.txt"],
        })
        .to_string(),
    )
    .unwrap();
    let sent = app
        .wait_for_sent(&dora, "the nightly batch to be sent", |t| {
            t["subject"] == "Nightly export" && t["status"] == "sent"
        })
        .await;
    let docs = sent["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d["status"] == "ready"), "{sent}");
    assert!(
        docs[0]["text_preview"]
            .as_str()
            .unwrap()
            .contains("MARKER-DROP-5c1d")
    );
    app.wait_for_mail(
        "bob@example.com",
        "Documents from dora@example.org: Nightly export",
        1,
    )
    .await;
    assert!(!batch.exists(), "the batch's folder is emptied and removed");

    // A lone file goes to the default recipients once there are some.
    let (status, saved) = app
        .call(
            Method::PUT,
            "/api/v1/me/drop-folder",
            Some(&dora),
            Some(json!({ "default_recipients": ["carol@example.com"], "subject": "Scan" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["default_recipients"], json!(["carol@example.com"]));
    std::fs::write(
        std::path::Path::new(&location).join("scan.txt"),
        b"A scanned letter.\n",
    )
    .unwrap();
    app.wait_for_sent(&dora, "the lone file to be sent", |t| {
        t["subject"] == "Scan" && t["status"] == "sent"
    })
    .await;

    // A manifest naming a file that is not there: set aside with the reason, owner told.
    let broken = std::path::Path::new(&location).join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("a.txt"), b"A\n").unwrap();
    std::fs::write(
        broken.join("go.ferry.json"),
        json!({ "files": ["a.txt", "b.txt"] }).to_string(),
    )
    .unwrap();
    let reason = std::path::Path::new(&location).join(".failed/broken/go.ferry.json.reason.txt");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !reason.exists() {
        assert!(std::time::Instant::now() < deadline, "no reason file");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(&reason).unwrap();
    assert!(text.contains("'b.txt' named in the manifest"), "{text}");
    assert!(
        std::path::Path::new(&location)
            .join(".failed/broken/a.txt")
            .exists()
    );
    app.wait_for_mail("dora@example.org", "Not sent: go.ferry.json", 1)
        .await;
}
