//! `spawn_app`: a fresh ferry-local process on a free port with a fresh data dir, and a typed
//! client that speaks to it as a script or the web portal would.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use md5::{Digest, Md5};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    child: Option<Child>,
    pub http: reqwest::Client,
    workers: usize,
    /// Flags and environment beyond the defaults, e.g. `--backend aws`.
    extra_args: Vec<String>,
    extra_env: Vec<(String, String)>,
    /// Where ferry-local's log goes, when a test reads it; the test's own stderr otherwise.
    log_path: Option<PathBuf>,
    /// `--allow-private-targets`: deliveries to the test's own listeners on 127.0.0.1.
    allow_private_targets: bool,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(4).await
}

pub async fn spawn_app_with(workers: usize) -> TestApp {
    spawn_configured(workers, Vec::new(), Vec::new()).await
}

pub async fn spawn_configured(
    workers: usize,
    extra_args: Vec<String>,
    extra_env: Vec<(String, String)>,
) -> TestApp {
    let mut app = TestApp::new(workers, extra_args, extra_env);
    app.start().await;
    app
}

/// Like [`spawn_configured`], with ferry-local's log (at `info`, as in production) kept in a
/// file the test can read with [`TestApp::log`]. (For the security suite, which shares this file.)
#[allow(dead_code)]
pub async fn spawn_logged(extra_args: Vec<String>, extra_env: Vec<(String, String)>) -> TestApp {
    let mut app = TestApp::logged(extra_args, extra_env);
    app.start().await;
    app
}

/// Like [`spawn_logged`], with deliveries guarded as in production: public HTTPS targets only.
#[allow(dead_code)]
pub async fn spawn_logged_guarded(extra_args: Vec<String>) -> TestApp {
    let mut app = TestApp::logged(extra_args, Vec::new());
    app.allow_private_targets = false;
    app.start().await;
    app
}

impl TestApp {
    /// Not started yet: a free port and a fresh data dir.
    fn new(workers: usize, extra_args: Vec<String>, extra_env: Vec<(String, String)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            data_dir: dir.path().join("data"),
            _dir: Some(dir),
            child: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            workers,
            extra_args,
            extra_env,
            log_path: None,
            allow_private_targets: true,
        }
    }

    /// Not started yet, with its log going to a file beside the data dir.
    fn logged(extra_args: Vec<String>, mut extra_env: Vec<(String, String)>) -> Self {
        extra_env.insert(0, ("FERRY_LOG".into(), "info".into()));
        let mut app = Self::new(2, extra_args, extra_env);
        app.log_path = Some(app.data_dir.with_file_name("ferry-local.log"));
        app
    }

    pub async fn start(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_ferry-local"))
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(
                self.allow_private_targets
                    .then_some("--allow-private-targets"),
            )
            .args([
                "--workers",
                &self.workers.to_string(),
                "--sweep-seconds",
                "1",
            ])
            .env("FERRY_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("FERRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("FERRY_LOG", "warn")
            .args(&self.extra_args)
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(match &self.log_path {
                Some(path) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .unwrap(),
                ),
                None => Stdio::inherit(),
            })
            .spawn()
            .expect("starting ferry-local");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self
                .http
                .get(format!("{}/api/v1/health", self.base))
                .send()
                .await
                && r.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("ferry-local exited early: {status}");
            }
            assert!(Instant::now() < deadline, "ferry-local did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no chance to flush or finish anything.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub fn set_args(&mut self, args: Vec<String>) {
        self.extra_args = args;
    }

    pub fn set_workers(&mut self, workers: usize) {
        self.workers = workers;
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "ferry-local ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What ferry-local has logged so far (only for an app from [`spawn_logged`]).
    #[allow(dead_code)]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path.as_ref().expect("spawned with spawn_logged"))
            .unwrap_or_default()
    }

    /// Fails if the log holds any of `secrets` (tokens, codes, passwords, document text).
    #[allow(dead_code)]
    pub fn assert_log_free_of(&self, secrets: &[&str]) {
        let log = self.log();
        assert!(!log.is_empty(), "ferry-local logged nothing at all");
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(
                !log.contains(secret),
                "the log holds a secret ({} chars starting {:?})",
                secret.len(),
                secret.chars().take(4).collect::<String>()
            );
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let is_problem = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/problem+json"));
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_client_error() || status.is_server_error() {
            assert!(is_problem, "{status} without problem+json: {value}");
        }
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Authorization code + PKCE through the login form, as a browser would.
    pub async fn login(&self, email: &str, password: &str) -> Result<Value, StatusCode> {
        self.login_with_otp(email, password, None).await
    }

    pub async fn login_with_otp(
        &self,
        email: &str,
        password: &str,
        otp: Option<&str>,
    ) -> Result<Value, StatusCode> {
        let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let redirect = self.url("/auth/callback");
        let authorize = reqwest::Url::parse_with_params(
            &self.url("/oidc/authorize"),
            &[
                ("response_type", "code"),
                ("client_id", "ferry-web"),
                ("redirect_uri", &redirect),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("state", "xyz"),
                ("scope", "openid email profile"),
                ("nonce", "n1"),
            ],
        )
        .unwrap();
        let page = self.http.get(authorize).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        let (action, mut fields) = form(&html);
        fields.push(("email".into(), email.into()));
        fields.push(("password".into(), password.into()));
        let mut resp = self
            .http
            .post(self.url(&action))
            .form(&fields)
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::OK {
            // The second step: a one-time password.
            let html = resp.text().await.unwrap();
            let (action, mut fields) = form(&html);
            assert!(html.contains("name=\"otp\""), "expected the otp step");
            fields.push(("otp".into(), otp.expect("this account needs an otp").into()));
            resp = self
                .http
                .post(self.url(&action))
                .form(&fields)
                .send()
                .await
                .unwrap();
        }
        if !resp.status().is_redirection() {
            return Err(resp.status());
        }
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        let location = reqwest::Url::parse(&location).unwrap();
        assert!(
            location.as_str().starts_with(&redirect),
            "redirected to {location}"
        );
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(
            location
                .query_pairs()
                .find(|(k, _)| k == "state")
                .unwrap()
                .1,
            "xyz"
        );
        let tokens = self
            .http
            .post(self.url("/oidc/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("client_id", "ferry-web"),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .unwrap();
        let status = tokens.status();
        if !status.is_success() {
            return Err(status);
        }
        Ok(tokens.json().await.unwrap())
    }

    pub async fn token(&self, email: &str, password: &str) -> String {
        self.login(email, password).await.expect("login")["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a user with the admin and returns their access token.
    pub async fn user(&self, admin: &str, email: &str, roles: &[&str]) -> String {
        let password = format!("{email}-password-123");
        let (status, body) = self
            .post(
                "/api/v1/admin/users",
                Some(admin),
                json!({ "email": email, "name": email, "roles": roles, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        self.token(email, &password).await
    }

    /// Sends a document's bytes the way its upload plan says, as the web portal would.
    pub async fn upload(&self, token: &str, transfer: &Value, index: usize, bytes: &[u8]) {
        let doc = &transfer["documents"][index];
        let plan = &doc["upload"];
        if plan["method"] == "PUT" {
            let mut req = self
                .http
                .put(plan["url"].as_str().unwrap())
                .body(bytes.to_vec());
            for (k, v) in plan["headers"].as_object().unwrap() {
                req = req.header(k, v.as_str().unwrap());
            }
            let resp = req.send().await.unwrap();
            assert_eq!(
                resp.status(),
                StatusCode::OK,
                "{}",
                resp.text().await.unwrap()
            );
            return;
        }
        let part_size = plan["part_size"].as_u64().unwrap() as usize;
        let parts: Vec<&[u8]> = bytes.chunks(part_size).collect();
        assert_eq!(parts.len() as u64, plan["part_count"].as_u64().unwrap());
        let tid = transfer["id"].as_str().unwrap();
        let did = doc["id"].as_str().unwrap();
        let request: Vec<Value> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| json!({ "number": i + 1, "md5": md5_b64(p) }))
            .collect();
        let (status, signed) = self
            .post(
                &format!("/api/v1/transfers/{tid}/documents/{did}/parts"),
                Some(token),
                json!({ "parts": request }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        // Four parts in flight at a time, as a browser with a good link would.
        let mut etags = vec![String::new(); parts.len()];
        for batch in signed["parts"].as_array().unwrap().chunks(4) {
            let sends = batch.iter().map(|part| {
                let number = part["number"].as_u64().unwrap() as usize;
                let mut req = self
                    .http
                    .put(part["url"].as_str().unwrap())
                    .body(parts[number - 1].to_vec());
                for (k, v) in part["headers"].as_object().unwrap() {
                    req = req.header(k, v.as_str().unwrap());
                }
                async move {
                    let resp = req.send().await.unwrap();
                    assert_eq!(resp.status(), StatusCode::OK);
                    (number, resp.headers()["etag"].to_str().unwrap().to_owned())
                }
            });
            for (number, etag) in futures_util::future::join_all(sends).await {
                etags[number - 1] = etag;
            }
        }
        let completed: Vec<Value> = etags
            .iter()
            .enumerate()
            .map(|(i, e)| json!({ "number": i + 1, "etag": e }))
            .collect();
        let (status, body) = self
            .post(
                &format!("/api/v1/transfers/{tid}/documents/{did}/complete"),
                Some(token),
                json!({ "parts": completed, "md5": md5_b64(bytes) }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }

    /// Waits until the work queue holds no job that is due (delayed retries and checks may
    /// stay), reading the data dir's database as a second process would.
    pub async fn wait_until_idle(&self) {
        let db = rusqlite::Connection::open_with_flags(
            self.data_dir.join("ferry.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = chrono::Utc::now().timestamp_millis();
            let due: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM jobs WHERE run_at <= ?1",
                    [now],
                    |row| row.get(0),
                )
                .unwrap();
            if due == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "{due} jobs still due");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls the transfer until `done` holds.
    pub async fn wait_for(
        &self,
        token: &str,
        tid: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, t) = self.get(&format!("/api/v1/transfers/{tid}"), token).await;
            assert_eq!(status, StatusCode::OK, "{t}");
            if done(&t) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {t}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for `token`'s outbox to hold a transfer that `done` accepts, and returns it.
    pub async fn wait_for_sent(
        &self,
        token: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, list) = self.get("/api/v1/transfers", token).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            if let Some(t) = list["transfers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| done(t))
            {
                return t.clone();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {list}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The actions of a transfer's audit trail, oldest first, as `token` may read it.
    pub async fn audit_actions(&self, token: &str, tid: &str) -> Vec<String> {
        let (status, events) = self
            .get(&format!("/api/v1/transfers/{tid}/events"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{events}");
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A JSON document anyone may read (discovery, the portal's config, the outbox).
    pub async fn public_json(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Messages in the outbox as `(to, subject, raw)`.
    pub async fn mails(&self) -> Vec<(String, String, String)> {
        let list = self.public_json("/_dev/mail.json").await;
        let mut out = Vec::new();
        for m in list.as_array().unwrap() {
            let raw = self
                .http
                .get(self.url(&format!("/_dev/mail/{}", m["name"].as_str().unwrap())))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            out.push((
                m["to"].as_str().unwrap().to_owned(),
                m["subject"].as_str().unwrap().to_owned(),
                unfold_qp(&raw),
            ));
        }
        out
    }

    pub async fn wait_for_mail(
        &self,
        to: &str,
        subject_starts: &str,
        count: usize,
    ) -> Vec<(String, String, String)> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found: Vec<_> = self
                .mails()
                .await
                .into_iter()
                .filter(|(t, s, _)| t.contains(to) && s.starts_with(subject_starts))
                .collect();
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no '{subject_starts}' mail to {to}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The link token from the invitation to `to`.
    pub async fn link_token(&self, to: &str) -> String {
        let invites = self.wait_for_mail(to, "Documents from", 1).await;
        let raw = &invites[0].2;
        let at = raw.find("/r/").expect("a link in the invitation") + 3;
        raw[at..at + 43].to_owned()
    }

    /// Link + emailed code → recipient token.
    pub async fn recipient_token(&self, link: &str, to: &str) -> String {
        let before = self
            .mails()
            .await
            .iter()
            .filter(|(t, s, _)| t.contains(to) && s.starts_with("Your Ferry code"))
            .count();
        let (status, body) = self
            .post("/api/v1/access", None, json!({ "link_token": link }))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let codes = self.wait_for_mail(to, "Your Ferry code", before + 1).await;
        let code = newest_code(&codes);
        let (status, body) = self
            .post(
                "/api/v1/access/verify",
                None,
                json!({ "link_token": link, "code": code }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

fn newest_code(codes: &[(String, String, String)]) -> String {
    // The outbox lists newest first.
    codes[0].1.rsplit(' ').next().unwrap().to_owned()
}

/// Quoted-printable soft line breaks removed, so a long link reads as one string.
fn unfold_qp(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// The first form's action and hidden fields, from a sign-in or account page.
pub fn form(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&#x2F;", "/")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">"),
        )
    };
    let form_tag = html
        .split("<form")
        .nth(1)
        .expect("a form")
        .split('>')
        .next()
        .unwrap();
    let action = attr(form_tag, "action").unwrap_or_else(|| "/oidc/authorize".into());
    let fields = html
        .split("<input")
        .skip(1)
        .map(|s| s.split('>').next().unwrap())
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default())))
        .collect();
    (action, fields)
}

pub fn md5_b64(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

/// Deterministic bytes that compress badly, so nothing accidentally matches them.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A large CSV: printable text, so it is a document Ferry accepts and extracts.
pub fn csv(len: usize, marker: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    out.extend_from_slice(format!("id,marker,payload\n0,{marker},start\n").as_bytes());
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut row = 1u64;
    let noise = noise(len, 42);
    while out.len() < len {
        out.extend_from_slice(format!("{row},").as_bytes());
        out.extend(
            noise[out.len() % (len - 64)..]
                .iter()
                .take(40)
                .map(|b| alphabet[*b as usize % alphabet.len()]),
        );
        out.extend_from_slice(b",x\n");
        row += 1;
    }
    out.truncate(len);
    out
}

/// Whether any file under `dir` contains `needle`.
pub fn dir_contains(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if let Some(found) = dir_contains(&path, needle) {
                return Some(found);
            }
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            return Some(path);
        }
    }
    None
}
