//! Starts moto's AWS emulator on a free 127.0.0.1 port, once per test process (installing it
//! into the project's tools venv on first use), and builds SDK clients that talk to it.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

pub struct Moto {
    pub endpoint: String,
    /// `GET {mail_endpoint}/ses/messages`: the emails SES accepted, as JSON.
    pub mail_endpoint: String,
    // Kept open: moto exits when it is closed, that is when this process ends.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv that scripts/test.sh also uses; moto is installed into it when missing.
fn python() -> PathBuf {
    let venv = workspace().join("target/tools-venv");
    let python = venv.join("bin/python");
    let has_moto = |python: &PathBuf| {
        python.exists()
            && Command::new(python)
                .args(["-c", "import moto.server, flask"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    };
    if !has_moto(&python) {
        if !python.exists() {
            let made = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status();
            assert!(
                made.is_ok_and(|s| s.success()),
                "creating {}",
                venv.display()
            );
        }
        let installed = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "moto[server]",
            ])
            .status();
        assert!(
            installed.is_ok_and(|s| s.success()),
            "installing moto[server]"
        );
    }
    python
}

pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let free_port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (port, mail_port) = (free_port(), free_port());
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("server.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(mail_port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "moto did not start");
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            mail_endpoint: format!("http://127.0.0.1:{mail_port}"),
            _stdin: Mutex::new(child.stdin.take().unwrap()),
            _child: Mutex::new(child),
        }
    })
}

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&moto().endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await
}

pub async fn s3_client() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&sdk_config().await)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub async fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config().await)
}

pub async fn ses_client() -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(&sdk_config().await)
}

pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}

pub async fn cognito_client() -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::new(&sdk_config().await)
}

pub async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config().await)
}
