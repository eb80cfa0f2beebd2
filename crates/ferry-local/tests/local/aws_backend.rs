//! `--backend aws` against moto: the portal creates its resources, takes an upload into S3,
//! is told of it by S3's notification on SQS, validates and extracts it, and emails through
//! SES; started again without `--create-resources`, it finds what it made.

use crate::helpers::{md5_b64, spawn_configured};
use ferry_moto::{moto, s3_client, unique};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn the_portal_runs_on_the_aws_adapters() {
    let prefix = unique("ferry-local");
    let env = vec![
        ("AWS_ENDPOINT_URL".to_owned(), moto().endpoint.clone()),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
    ];
    let args = |create: bool| {
        let mut args = vec![
            "--backend".to_owned(),
            "aws".to_owned(),
            "--aws-prefix".to_owned(),
            prefix.clone(),
        ];
        if create {
            args.push("--create-resources".to_owned());
        }
        args
    };
    let mut app = spawn_configured(2, args(true), env.clone()).await;
    // The portal may send its bytes to the emulator's presigned URLs, and mail really leaves.
    let page = app.http.get(app.url("/")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let moto_origin = url::Url::parse(&moto().endpoint)
        .unwrap()
        .origin()
        .ascii_serialization();
    assert!(
        csp.contains(&format!("connect-src 'self' {moto_origin};")),
        "{csp}"
    );
    let config = app.public_json("/config.json").await;
    assert_eq!(config["dev_mail_url"], serde_json::Value::Null);
    let admin = app.admin_token().await;
    let alice_password = "a long password for alice";
    let (status, body) = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "email": "alice@example.org", "name": "Alice", "roles": ["member"], "password": alice_password }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let alice = app.token("alice@example.org", alice_password).await;
    let notes = b"Minutes\nMARKER-AWS-1b7e was agreed.\n".to_vec();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({
                "recipients": ["bob@example.com"],
                "subject": "Minutes",
                "files": [{ "name": "notes.txt", "size": notes.len(), "content_type": "text/plain", "md5": md5_b64(&notes) }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let upload = t["documents"][0]["upload"]["url"].as_str().unwrap();
    assert!(
        upload.starts_with(&moto().endpoint),
        "the bytes go straight to S3: {upload}"
    );
    app.upload(&alice, &t, 0, &notes).await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let sent = app
        .wait_for(&alice, &tid, "the transfer to be sent", |t| {
            t["status"] == "sent"
        })
        .await;
    let doc: &Value = &sent["documents"][0];
    assert_eq!(doc["status"], "ready");
    assert!(
        doc["text_preview"]
            .as_str()
            .unwrap()
            .contains("MARKER-AWS-1b7e")
    );
    let listed = s3_client()
        .await
        .list_objects_v2()
        .bucket(format!("{prefix}-documents"))
        .prefix(format!("transfers/{tid}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 1, "the document is in the bucket");

    // A drop folder in the bucket: files put with any S3 client, then their manifest.
    let (status, folder) = app.get("/api/v1/me/drop-folder", &alice).await;
    assert_eq!(status, StatusCode::OK, "{folder}");
    let bucket = format!("{prefix}-documents");
    let location = folder["location"].as_str().unwrap();
    let folder_key = location
        .strip_prefix(&format!("s3://{bucket}/"))
        .unwrap_or_else(|| panic!("{location} is not in s3://{bucket}/"))
        .to_owned();
    let s3 = s3_client().await;
    let put = |key: String, body: Vec<u8>| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
    };
    let minutes = b"Board minutes\nMARKER-DROP-AWS-77c2\n".to_vec();
    put(format!("{folder_key}march 2026/minutes.txt"), minutes).await;
    put(
        format!("{folder_key}march 2026/send.ferry.json"),
        json!({ "recipients": ["bob@example.com"], "subject": "From the bucket" })
            .to_string()
            .into_bytes(),
    )
    .await;
    let dropped = app
        .wait_for_sent(&alice, "the drop-folder batch to be sent", |t| {
            t["subject"] == "From the bucket" && t["status"] == "sent"
        })
        .await;
    assert_eq!(dropped["documents"][0]["name"], "minutes.txt");
    assert!(
        dropped["documents"][0]["text_preview"]
            .as_str()
            .unwrap()
            .contains("MARKER-DROP-AWS-77c2")
    );
    let left = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(&folder_key)
        .send()
        .await
        .unwrap();
    assert_eq!(left.contents().len(), 0, "the drop folder is emptied");

    // Started again on the same resources, without creating them: the transfer is still there.
    app.kill_hard();
    app.set_args(args(false));
    app.start().await;
    let alice = app.token("alice@example.org", alice_password).await;
    let (status, again) = app.get(&format!("/api/v1/transfers/{tid}"), &alice).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "sent");

    // Resources that do not exist are named, with the way to create them.
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_ferry-local"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--backend",
            "aws",
            "--aws-prefix",
            &unique("absent"),
        ])
        .arg("--data-dir")
        .arg(app.data_dir.join("elsewhere"))
        .envs(env)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("is missing") && stderr.contains("--create-resources"),
        "{stderr}"
    );
}
