//! Server-side request forgery through deliveries: a recipient names the URL Ferry sends to.
//! Without `--allow-private-targets` (which every other test passes), only public HTTPS hosts.

use crate::helpers::*;
use crate::input::{file, has_detail, password};
use reqwest::StatusCode;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Webhook and bucket deliveries to plain HTTP, loopback, private, link-local (the metadata
/// service), shared, multicast and IPv6 local addresses, or a URL with credentials, are refused
/// with 400; a listener the test opened on 127.0.0.1 is never contacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t23_deliveries_refuse_private_and_plain_http_targets() {
    // TestApp always passes --allow-private-targets: its process is replaced by one started
    // the same way without it, on the same port, data dir and log.
    let mut app = spawn_logged(vec![], vec![]).await;
    app.kill_hard();
    let _guarded = Guarded(start_guarded(&app));
    wait_healthy(&app).await;

    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;
    let body = b"MARKER-T23-4a4a what the attacker wants pushed\n".to_vec();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Push", "files": [file("n.txt", &body, "text/plain")] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    let did = t["documents"][0]["id"].as_str().unwrap().to_owned();
    app.upload(&alice, &t, 0, &body).await;
    app.wait_for(&alice, &tid, "the transfer to be sent", |t| {
        t["status"] == "sent"
    })
    .await;
    let link = app.link_token("bob@example.com").await;
    let bob = app.recipient_token(&link, "bob@example.com").await;

    // Something of the test's own that a forged request would reach.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();

    // Each target, and a word the refusal must give as its reason.
    let private = "private, loopback or reserved";
    let targets: Vec<(String, &str)> = vec![
        (format!("http://127.0.0.1:{port}/hook"), "https"),
        ("http://example.com/hook".into(), "https"),
        ("ftp://example.com/hook".into(), "https"),
        ("file:///etc/passwd".into(), "https"),
        (format!("https://127.0.0.1:{port}/hook"), private),
        (format!("https://localhost:{port}/hook"), private),
        (format!("https://127.1:{port}/hook"), private),
        (format!("https://2130706433:{port}/hook"), private),
        (format!("https://0x7f.0.0.1:{port}/hook"), private),
        (format!("https://0.0.0.0:{port}/hook"), private),
        ("https://10.0.0.1/hook".into(), private),
        ("https://172.16.0.1/hook".into(), private),
        ("https://192.168.1.1/hook".into(), private),
        ("https://169.254.169.254/latest/meta-data/".into(), private),
        ("https://100.64.0.1/hook".into(), private),
        ("https://224.0.0.1/hook".into(), private),
        ("https://255.255.255.255/hook".into(), private),
        (format!("https://[::1]:{port}/hook"), private),
        (format!("https://[::ffff:127.0.0.1]:{port}/hook"), private),
        ("https://[fd00::1]/hook".into(), private),
        ("https://[fd00:ec2::254]/latest/meta-data/".into(), private),
        ("https://[fe80::1]/hook".into(), private),
        ("https://[::]/hook".into(), private),
        (
            "https://user:pass@example.com/hook".into(),
            "user name or password",
        ),
        (
            "https://token@example.com/hook".into(),
            "user name or password",
        ),
        ("not a url".into(), "valid URL"),
    ];
    let secret = "bob-s-webhook-secret-0123456789";
    for (url, reason) in &targets {
        for destination in [
            json!({ "type": "webhook", "url": url, "secret": secret }),
            json!({ "type": "s3_presigned", "urls": { did.as_str(): url } }),
        ] {
            let (status, problem) = app
                .post(
                    &format!("/api/v1/transfers/{tid}/deliveries"),
                    Some(&bob),
                    json!({ "destination": destination }),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {problem}");
            assert!(has_detail(&problem, reason), "{url}: {problem}");
            assert!(
                !problem["detail"].as_str().unwrap().contains("pass@"),
                "the refusal repeats the URL's credentials: {problem}"
            );
        }
    }

    // No delivery was recorded or queued, and nothing connected to the listener.
    let (_, now) = app.get(&format!("/api/v1/transfers/{tid}"), &alice).await;
    assert_eq!(now["deliveries"], json!([]), "{now}");
    app.wait_until_idle().await;
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, from)) => panic!("a delivery connected to the test's listener from {from}"),
        Err(e) => panic!("{e}"),
    }
    let (_, events) = app
        .get(&format!("/api/v1/transfers/{tid}/events"), &alice)
        .await;
    assert!(
        !events.to_string().contains("delivery.requested"),
        "{events}"
    );

    app.assert_log_free_of(&[
        &admin,
        &alice,
        &bob,
        &link,
        secret,
        ADMIN_PASSWORD,
        &password("alice@example.org"),
        "MARKER-T23-4a4a",
        "user:pass",
    ]);
}

/// Kills the ferry-local it holds when the test ends, however it ends.
struct Guarded(Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// ferry-local on the app's port, data dir and log, as `TestApp::start` runs it but for
/// `--allow-private-targets`.
fn start_guarded(app: &TestApp) -> Child {
    let log = app.data_dir.parent().unwrap().join("ferry-local.log");
    Command::new(env!("CARGO_BIN_EXE_ferry-local"))
        .args(["--listen", &format!("127.0.0.1:{}", app.port)])
        .arg("--data-dir")
        .arg(&app.data_dir)
        .args(["--workers", "2", "--sweep-seconds", "1"])
        .env("FERRY_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("FERRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("FERRY_LOG", "info")
        .env_remove("FERRY_ALLOW_PRIVATE_TARGETS")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        ))
        .spawn()
        .expect("starting ferry-local")
}

async fn wait_healthy(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = app.http.get(app.url("/api/v1/health")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "ferry-local did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
