//! The `ferry` binary against a fresh ferry-local, as a script would run it: machine
//! credentials in the environment, exit codes and stdout read by the caller.

use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ADMIN_EMAIL: &str = "admin@example.org";
const ADMIN_PASSWORD: &str = "an admin password for tests";

/// ferry-local is built beside `ferry` by `cargo test --workspace` (as scripts/test.sh runs it);
/// when it is missing, this builds it. After changing ferry-local, test the workspace, or build
/// ferry-local before `cargo test -p ferry-cli`.
fn ferry_local() -> PathBuf {
    let ferry = PathBuf::from(env!("CARGO_BIN_EXE_ferry"));
    let local = ferry.with_file_name("ferry-local");
    if !local.is_file() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "ferry-local", "--bin", "ferry-local"])
            .status()
            .expect("running cargo");
        assert!(status.success(), "building ferry-local");
    }
    local
}

struct Portal {
    url: String,
    child: Child,
    dir: tempfile::TempDir,
    client_id: String,
    client_secret: String,
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Portal {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let data = dir.path().join("data");
        let child = Command::new(ferry_local())
            .args(["--listen", &format!("127.0.0.1:{port}"), "--workers", "2"])
            .arg("--data-dir")
            .arg(&data)
            .env("FERRY_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("FERRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("FERRY_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("starting ferry-local");
        let deadline = Instant::now() + Duration::from_secs(60);
        while health::check(&url).is_err() {
            assert!(Instant::now() < deadline, "ferry-local did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        let created = Command::new(ferry_local())
            .arg("--data-dir")
            .arg(&data)
            .args([
                "create-client",
                "--owner-email",
                ADMIN_EMAIL,
                "--name",
                "cli tests",
            ])
            .env("FERRY_LOG", "warn")
            .output()
            .unwrap();
        assert!(created.status.success(), "{created:?}");
        let credentials: Value = serde_json::from_slice(&created.stdout).unwrap();
        Self {
            url,
            child,
            client_id: credentials["client_id"].as_str().unwrap().to_owned(),
            client_secret: credentials["client_secret"].as_str().unwrap().to_owned(),
            dir,
        }
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn ferry(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
        command
            .env("FERRY_URL", &self.url)
            .env("FERRY_CLIENT_ID", &self.client_id)
            .env("FERRY_CLIENT_SECRET", &self.client_secret)
            .env("FERRY_STATE_DIR", self.state_dir())
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.ferry().args(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// Health over a plain TCP request: the test needs no HTTP client of its own for that.
mod health {
    use std::io::{Read, Write};

    pub fn check(url: &str) -> std::io::Result<()> {
        let address = url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address)?;
        write!(
            stream,
            "GET /api/v1/health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        if answer.starts_with("HTTP/1.1 200") {
            Ok(())
        } else {
            Err(std::io::Error::other("not up yet"))
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A PNG signature and pseudo-random bytes: a valid type, no text to extract.
fn png_like(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let mut x = seed | 1;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

fn md5_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

#[test]
fn send_wait_uploads_a_multipart_file_and_reports_it_ready() {
    let portal = Portal::start();
    let bytes = png_like(40 << 20, 7);
    let big = portal.file("scan.png", &bytes);
    let small = portal.file(
        "notes.txt",
        b"Quarterly figures\nRevenue rose by 12 percent.\n",
    );
    let out = portal.run(&[
        "send",
        "--to",
        "bob@example.com",
        "--subject",
        "Nightly export",
        "--wait",
        big.to_str().unwrap(),
        small.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let transfer_id = text(&out.stdout).trim().to_owned();
    assert_eq!(
        transfer_id.len(),
        36,
        "the id alone on stdout: {transfer_id}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("sending scan.png"),
        "a line per file: {stderr}"
    );
    // The large file is hashed while it is sent, not read once beforehand; the small one's
    // PUT is signed with its MD5, so it is hashed first.
    assert!(!stderr.contains("hashing scan.png"), "{stderr}");
    assert!(stderr.contains("hashing notes.txt"), "{stderr}");

    let status = portal.json(&["status", &transfer_id]);
    assert_eq!(status["status"], "sent");
    assert_eq!(status["subject"], "Nightly export");
    let documents = status["documents"].as_array().unwrap();
    assert_eq!(documents[0]["status"], "ready");
    assert_eq!(documents[0]["md5"], md5_base64(&bytes));
    assert_eq!(documents[1]["status"], "ready");
    let listed = portal.json(&["list"]);
    assert_eq!(listed[0]["id"], transfer_id.as_str());
    assert!(
        std::fs::read_dir(portal.state_dir().join("sends"))
            .unwrap()
            .next()
            .is_none(),
        "a finished send leaves no state behind"
    );
}

#[test]
fn a_rejected_file_makes_send_wait_fail_with_its_reason() {
    let portal = Portal::start();
    let program = portal.file(
        "report.pdf",
        b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run in DOS mode",
    );
    let out = portal.run(&[
        "send",
        "--to",
        "bob@example.com",
        "--wait",
        program.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("report.pdf"), "{stderr}");
    assert!(
        stderr.contains("type_not_allowed") || stderr.contains("type_mismatch"),
        "{stderr}"
    );
}

#[test]
fn bad_credentials_and_bad_input_have_their_own_exit_codes() {
    let portal = Portal::start();
    let file = portal.file("a.txt", b"some text\n");
    let wrong = portal
        .ferry()
        .env("FERRY_CLIENT_SECRET", "wrong")
        .args(["send", "--to", "bob@example.com", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(3), "{}", text(&wrong.stderr));
    assert!(!text(&wrong.stderr).contains(&portal.client_secret));

    let missing = portal.run(&["send", "--to", "bob@example.com", "/nonexistent/file"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("/nonexistent/file"));
    let bad_recipient = portal.run(&["send", "--to", "not-an-address", file.to_str().unwrap()]);
    assert_eq!(bad_recipient.status.code(), Some(1));
    assert!(
        text(&bad_recipient.stderr).contains("recipient"),
        "{}",
        text(&bad_recipient.stderr)
    );
    let unknown = portal.run(&["status", "00000000-0000-4000-8000-000000000000"]);
    assert_eq!(unknown.status.code(), Some(5));
    let usage = portal.run(&["send", "--to", "bob@example.com"]);
    assert_eq!(usage.status.code(), Some(2));
}

fn saved_parts(state_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(state_dir.join("sends")) else {
        return 0;
    };
    // Only the saved states: a temporary file being written is not saved until renamed.
    entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "json"))
        .filter_map(|path| std::fs::read(path).ok())
        .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
        .map(|state| {
            state["files"][0]["etags"]
                .as_object()
                .map_or(0, |e| e.len())
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn an_interrupted_send_resumes_where_it_stopped() {
    let portal = Portal::start();
    let bytes = png_like(48 << 20, 11);
    let file = portal.file("archive.png", &bytes);
    let path = file.to_str().unwrap();
    // Slowed down so that it is surely stopped half-way: 3 parts of 16 MiB at 16 MiB/s.
    let mut first = portal
        .ferry()
        .args([
            "send",
            "--to",
            "bob@example.com",
            "--parallel",
            "1",
            "--limit-rate",
            "16M",
            path,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while saved_parts(&portal.state_dir()) == 0 {
        assert!(Instant::now() < deadline, "no part was sent");
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let sent_before = saved_parts(&portal.state_dir());
    assert!((1..3).contains(&sent_before), "{sent_before} parts");

    let again = portal.run(&["send", "--to", "bob@example.com", "--wait", path]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let stderr = text(&again.stderr);
    assert!(stderr.contains("resuming transfer"), "{stderr}");
    assert!(
        stderr.contains(&format!("{sent_before} of 3 parts were sent before")),
        "{stderr}"
    );
    let transfer_id = text(&again.stdout).trim().to_owned();
    let status = portal.json(&["status", &transfer_id]);
    assert_eq!(status["documents"][0]["status"], "ready");
    assert_eq!(status["documents"][0]["md5"], md5_base64(&bytes));
    assert_eq!(
        portal.json(&["list"]).as_array().unwrap().len(),
        1,
        "one transfer, not two"
    );
}

/// The outbox's messages as (To, Subject, body with quoted-printable line breaks undone).
fn mails(portal: &Portal) -> Vec<(String, String, String)> {
    let Ok(entries) = std::fs::read_dir(portal.dir.path().join("data/outbox")) else {
        return Vec::new();
    };
    let header = |raw: &str, name: &str| {
        raw.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    entries
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .map(|raw| {
            let body = raw
                .replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=");
            (header(&raw, "To:"), header(&raw, "Subject:"), body)
        })
        .collect()
}

fn wait_for_mail(portal: &Portal, to: &str, subject: &str) -> (String, String, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = mails(portal)
            .into_iter()
            .find(|(t, s, _)| t.contains(to) && s.starts_with(subject))
        {
            return found;
        }
        assert!(Instant::now() < deadline, "no '{subject}' mail to {to}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn receive_asks_for_the_code_writes_identical_files_and_purges_with_confirm() {
    use std::io::Write;
    let portal = Portal::start();
    let big = png_like(20 << 20, 3);
    let small = b"Quarterly figures\nRevenue rose by 12 percent.\n".to_vec();
    let sent = portal.run(&[
        "send",
        "--to",
        "bob@example.com",
        "--wait",
        portal.file("scan.png", &big).to_str().unwrap(),
        portal.file("notes.txt", &small).to_str().unwrap(),
    ]);
    assert!(sent.status.success(), "{}", text(&sent.stderr));
    let transfer_id = text(&sent.stdout).trim().to_owned();
    let (_, _, invitation) = wait_for_mail(&portal, "bob@example.com", "Documents from");
    let at = invitation.find("/r/").expect("a link in the invitation");
    let start = invitation[..at].rfind("http").unwrap();
    let link = invitation[start..at + 3 + 43].to_owned();

    let out = portal.dir.path().join("received");
    let mut receiving = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["receive", &link, "--confirm", "--out"])
        .arg(&out)
        .env_remove("FERRY_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, subject, _) = wait_for_mail(&portal, "bob@example.com", "Your Ferry code");
    let code = subject.rsplit(' ').next().unwrap().to_owned();
    writeln!(receiving.stdin.take().unwrap(), "{code}").unwrap();
    let received = receiving.wait_with_output().unwrap();
    assert!(received.status.success(), "{}", text(&received.stderr));
    assert_eq!(std::fs::read(out.join("scan.png")).unwrap(), big);
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), small);
    let written = text(&received.stdout);
    assert_eq!(written.lines().count(), 2, "{written}");

    // Confirmed by the only recipient: the transfer is completed and its bytes purged.
    let status = portal.json(&["status", &transfer_id]);
    assert_eq!(status["status"], "completed");
    assert!(
        status["documents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "purged")
    );
    let again = portal.run(&[
        "receive",
        &link,
        "--code",
        &code,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(5), "{}", text(&again.stderr));
}

#[test]
fn watch_once_sends_a_directory_and_files_each_file_by_its_outcome() {
    let portal = Portal::start();
    let drop = portal.dir.path().join("outgoing");
    std::fs::create_dir_all(&drop).unwrap();
    std::fs::write(
        drop.join("figures.csv"),
        b"region,revenue\nnorth,12\nsouth,9\n",
    )
    .unwrap();
    std::fs::write(drop.join("scan.png"), png_like(1 << 20, 5)).unwrap();
    std::fs::write(
        drop.join("setup.exe"),
        b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run",
    )
    .unwrap();
    std::fs::write(drop.join(".hidden"), b"not for sending").unwrap();
    // An empty file may be about to be written; one left empty for an hour never will be.
    std::fs::write(drop.join("about-to-be-written.csv"), b"").unwrap();
    std::fs::File::create(drop.join("forgotten.csv"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();

    let watch_once = [
        "watch",
        drop.to_str().unwrap(),
        "--to",
        "bob@example.com",
        "--once",
        "--settle",
        "1",
    ];
    let out = portal.run(&watch_once);
    assert_eq!(
        out.status.code(),
        Some(4),
        "two files failed: {}",
        text(&out.stderr)
    );
    let sent = drop.join(".sent");
    let failed = drop.join(".failed");
    assert!(sent.join("figures.csv").is_file());
    assert!(sent.join("scan.png").is_file());
    assert!(failed.join("setup.exe").is_file());
    let reason = std::fs::read_to_string(failed.join("setup.exe.reason.txt")).unwrap();
    assert!(reason.contains("type_not_allowed"), "{reason}");
    assert!(drop.join(".hidden").is_file(), "hidden files stay");
    assert!(drop.join("about-to-be-written.csv").is_file());
    let reason = std::fs::read_to_string(failed.join("forgotten.csv.reason.txt")).unwrap();
    assert!(reason.starts_with("empty: "), "{reason}");
    assert!(!drop.join("figures.csv").exists());

    // One transfer for the batch; nothing left to send the next time.
    assert_eq!(portal.json(&["list"]).as_array().unwrap().len(), 1);
    let again = portal.run(&watch_once);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(portal.json(&["list"]).as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_signs_in_through_the_browser_keeps_the_tokens_private_and_renews_them() {
    use std::io::BufRead;
    let portal = Portal::start();
    let config = portal.dir.path().join("config");
    let as_person = |command: &mut Command| {
        command
            .env_remove("FERRY_CLIENT_ID")
            .env_remove("FERRY_CLIENT_SECRET")
            .env_remove("FERRY_URL")
            .env("FERRY_CONFIG_DIR", &config)
            .env("BROWSER", "none");
    };
    let mut ferry = portal.ferry();
    as_person(&mut ferry);
    let mut signing_in = ferry
        .args(["login", "--url", &portal.url, "--port", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(signing_in.stderr.take().unwrap()).lines();
    let address = stderr
        .by_ref()
        .map(Result::unwrap)
        .find(|line| line.contains("/oidc/authorize?"))
        .expect("the sign-in address");
    let rest = std::thread::spawn(move || stderr.map(Result::unwrap).collect::<Vec<_>>());

    // The browser: the sign-in form's fields are the request's own, plus the password.
    let browser = ::reqwest::Client::builder()
        .redirect(::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let request = url::Url::parse(&address).unwrap();
    let mut form: Vec<(String, String)> = request.query_pairs().into_owned().collect();
    form.push(("email".into(), ADMIN_EMAIL.into()));
    form.push(("password".into(), ADMIN_PASSWORD.into()));
    let signed = browser
        .post(format!("{}/oidc/authorize", portal.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    let signed_status = signed.status();
    assert!(
        signed_status.is_redirection(),
        "{signed_status}: {}",
        signed.text().await.unwrap()
    );
    let back = signed.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with("http://localhost:"), "{back}");
    let landed = browser.get(&back).send().await.unwrap();
    assert!(landed.status().is_success());
    let status = tokio::task::spawn_blocking(move || signing_in.wait().unwrap())
        .await
        .unwrap();
    let said = rest.join().unwrap().join("\n");
    assert!(status.success(), "{said}");
    assert!(said.contains("Signed in"), "{said}");

    let kept = config.join("login.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let list = || {
        let mut ferry = portal.ferry();
        as_person(&mut ferry);
        ferry.args(["list", "--json"]).output().unwrap()
    };
    let listed = list();
    assert!(listed.status.success(), "{}", text(&listed.stderr));

    // An expired access token is renewed with the refresh token, which rotates.
    let mut stored: Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    let first_refresh = stored["refresh_token"].clone();
    stored["expires_at"] = 0.into();
    std::fs::write(&kept, serde_json::to_vec(&stored).unwrap()).unwrap();
    let renewed = list();
    assert!(renewed.status.success(), "{}", text(&renewed.stderr));
    let stored: Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    assert_ne!(stored["refresh_token"], first_refresh);
    assert!(stored["expires_at"].as_i64().unwrap() > 0);

    let mut logout = portal.ferry();
    as_person(&mut logout);
    assert!(logout.arg("logout").output().unwrap().status.success());
    assert_eq!(list().status.code(), Some(3), "signed out");
}

#[test]
fn a_manifest_dropped_in_the_local_inbox_becomes_a_transfer_the_cli_lists() {
    let portal = Portal::start();
    // The machine client acts for the admin: their drop folder, named by email.
    let batch = portal
        .dir
        .path()
        .join("data/inbox")
        .join(ADMIN_EMAIL)
        .join("quarterly");
    std::fs::create_dir_all(&batch).unwrap();
    let figures = b"region,revenue\nnorth,12\nsouth,9\n";
    std::fs::write(batch.join("figures.csv"), figures).unwrap();
    std::fs::write(
        batch.join("send.ferry.json"),
        serde_json::json!({
            "recipients": ["bob@example.com"],
            "subject": "Quarterly figures",
            "files": [{ "name": "figures.csv", "md5": md5_base64(figures) }],
        })
        .to_string(),
    )
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let transfer = loop {
        let listed = portal.json(&["list"]);
        let sent = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["subject"] == "Quarterly figures" && t["status"] == "sent")
            .cloned();
        if let Some(t) = sent {
            break t;
        }
        assert!(Instant::now() < deadline, "no transfer: {listed}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(transfer["documents"][0]["name"], "figures.csv");
    assert_eq!(transfer["documents"][0]["status"], "ready");
    assert!(!batch.exists(), "the batch left the drop folder");
    let (_, subject, _) = wait_for_mail(&portal, "bob@example.com", "Documents from");
    assert!(subject.ends_with("Quarterly figures"), "{subject}");
}
