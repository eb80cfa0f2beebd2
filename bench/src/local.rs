//! A ferry-local process for the benchmarks that go through its HTTP API: started on a free
//! port with a fresh data directory, signed in as its first admin (a member too) through its
//! identity provider as the web portal would.

use crate::Setup;
use anyhow::{Context, bail};
use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct LocalServer {
    child: Child,
    pub url: String,
    /// A member's access token.
    pub token: String,
    pub client: reqwest::Client,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ADMIN: &str = "admin@example.com";

impl LocalServer {
    pub async fn start(setup: &Setup) -> anyhow::Result<Self> {
        let data = setup.scratch.join("ferry-local");
        if data.exists() {
            std::fs::remove_dir_all(&data)?;
        }
        let web = setup.scratch.join("web");
        std::fs::create_dir_all(&web)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let password = uuid::Uuid::new_v4().to_string();
        let log = File::create(setup.scratch.join("logs/ferry-local.log"))?;
        let child = Command::new(&setup.ferry_local)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&data)
            .arg("--web-dir")
            .arg(&web)
            // The load is the point here: no limit may refuse it.
            .args([
                "--rate-limits",
                "sign-in=1000000/min,create-transfer=1000000/min,download=1000000/min",
            ])
            .env("FERRY_ADMIN_EMAIL", ADMIN)
            .env("FERRY_ADMIN_PASSWORD", &password)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", setup.ferry_local.display()))?;
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if client
                .get(format!("{url}/api/v1/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("ferry-local did not answer within a minute");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let login = Command::new("python3")
            .arg(setup.repo.join("scripts/local-login.py"))
            .args([&url, ADMIN, &password])
            .stdin(Stdio::null())
            .output()?;
        if !login.status.success() {
            bail!(
                "signing in to ferry-local failed: {}",
                String::from_utf8_lossy(&login.stderr)
            );
        }
        let token = String::from_utf8(login.stdout)?.trim().to_owned();
        Ok(Self {
            child,
            url,
            token,
            client,
        })
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.url)
    }
}
