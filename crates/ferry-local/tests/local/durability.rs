//! What was acknowledged survives a SIGKILL, and is processed exactly once after the restart.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_upload_and_validation_loses_nothing() {
    // No workers: the upload is acknowledged and queued, and nothing processes it yet.
    let mut app = spawn_app_with(0).await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;
    let body = b"Contract, signed\n".repeat(1000);
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Contract", "files": [{ "name": "c.txt", "size": body.len(), "content_type": "text/plain", "md5": md5_b64(&body) }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let tid = t["id"].as_str().unwrap().to_owned();
    app.upload(&alice, &t, 0, &body).await;
    let (_, before) = app.get(&format!("/api/v1/transfers/{tid}"), &alice).await;
    assert_eq!(before["documents"][0]["status"], "awaiting_upload");

    app.kill_hard();
    app.set_workers(2);
    app.start().await;

    let alice = app
        .token("alice@example.org", "alice@example.org-password-123")
        .await;
    let t = app
        .wait_for(
            &alice,
            &tid,
            "validation and notification after the restart",
            |t| {
                // "sent" comes first; the recipient is "notified" once the email is out.
                t["status"] == "sent" && t["recipients"][0]["status"] == "notified"
            },
        )
        .await;
    assert_eq!(t["documents"][0]["status"], "ready");
    assert_eq!(t["recipients"][0]["status"], "notified");
    app.wait_for_mail("bob@example.com", "Documents from", 1)
        .await;

    // Restart once more: nothing is processed twice, nobody is emailed twice.
    app.kill_hard();
    app.start().await;
    app.wait_until_idle().await;
    let (_, events) = app
        .get(&format!("/api/v1/transfers/{tid}/events"), &alice)
        .await;
    let count = |action: &str| {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .count()
    };
    assert_eq!(count("document.validated"), 1, "{events}");
    assert_eq!(count("document.ready"), 1, "{events}");
    assert_eq!(count("recipient.notified"), 1, "{events}");
    let mails = app.mails().await;
    for to in ["bob@example.com", "alice@example.org"] {
        assert_eq!(mails.iter().filter(|(t, _, _)| t.contains(to)).count(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_cleanly() {
    let mut app = spawn_app().await;
    let status = app.terminate();
    assert!(status.success(), "exit status {status}");
}
