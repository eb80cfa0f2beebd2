//! `ferry login`: a person signs in with the portal's own identity provider, in a browser, with
//! authorization code + PKCE and a loopback redirect (RFC 8252). The tokens are kept in the
//! user's config directory, readable by them only, and the access token is renewed with the
//! refresh token as it runs out.

use crate::auth::{Portal, token_request};
use crate::failure::Failure;
use axum::extract::{Query, State};
use axum::response::Html;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long the browser has to come back.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);
const RENEW_BEFORE_SECS: i64 = 60;

/// What `ferry login` keeps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredLogin {
    pub url: String,
    pub api_url: String,
    pub client_id: String,
    pub token_endpoint: String,
    pub access_token: String,
    pub refresh_token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

fn login_file() -> PathBuf {
    crate::dirs::config_dir().join("login.json")
}

pub fn load() -> Option<StoredLogin> {
    serde_json::from_slice(&std::fs::read(login_file()).ok()?).ok()
}

/// Replaced whole, through a file only the user can read.
fn save(login: &StoredLogin) -> anyhow::Result<()> {
    let path = login_file();
    let dir = path.parent().expect("the login file has a directory");
    std::fs::create_dir_all(dir)?;
    let mut temporary = tempfile::NamedTempFile::new_in(dir)?;
    temporary.write_all(&serde_json::to_vec_pretty(login)?)?;
    temporary.as_file().sync_all()?;
    temporary.persist(&path)?;
    Ok(())
}

fn random_text(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A browser on this machine, if one can be started; the address is printed either way.
fn open_browser(url: &str) {
    if std::env::var("BROWSER").is_ok_and(|b| b == "none") {
        return;
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

type Callback = Arc<Mutex<Option<oneshot::Sender<HashMap<String, String>>>>>;

async fn callback(
    State(sender): State<Callback>,
    Query(params): Query<HashMap<String, String>>,
) -> Html<&'static str> {
    if let Some(sender) = sender.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = sender.send(params);
    }
    Html(
        "<!doctype html><title>Ferry</title><p>You can close this window and go back to the \
         terminal.</p>",
    )
}

pub async fn login(http: &reqwest::Client, url: &str, port: u16) -> anyhow::Result<StoredLogin> {
    let portal = Portal::discover(http, url).await?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| Failure::Refused(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let port = listener.local_addr()?.port();
    // Cognito accepts plain HTTP only for `localhost`; it resolves to the listener above.
    let redirect_uri = format!("http://localhost:{port}/callback");
    let verifier = random_text(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_text(16);
    let mut authorize = url::Url::parse(&portal.authorization_endpoint)?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &portal.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair(
            "scope",
            portal.scope.as_deref().unwrap_or("openid email profile"),
        )
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");

    let (sender, received) = oneshot::channel();
    let app = axum::Router::new()
        .route("/callback", axum::routing::get(callback))
        .with_state(Arc::new(Mutex::new(Some(sender))));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    eprintln!("Sign in at this address (opening it in your browser):\n{authorize}");
    open_browser(authorize.as_str());
    let params = tokio::time::timeout(SIGN_IN_TIMEOUT, received)
        .await
        .map_err(|_| Failure::Auth("no sign-in came back within 5 minutes".into()))?
        .map_err(|_| anyhow::anyhow!("the loopback server stopped"))?;
    let _ = stop.send(());
    let _ = server.await;

    if params.get("state") != Some(&state) {
        return Err(
            Failure::Auth("the sign-in answer does not belong to this login".into()).into(),
        );
    }
    if let Some(error) = params.get("error") {
        let why = params.get("error_description").unwrap_or(error);
        return Err(Failure::Auth(format!("the sign-in was refused: {why}")).into());
    }
    let code = params
        .get("code")
        .ok_or_else(|| Failure::Auth("the sign-in answer holds no code".into()))?;
    let answer = token_request(
        http,
        &portal.token_endpoint,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("client_id", &portal.client_id),
            ("code_verifier", &verifier),
        ],
        "the identity provider refused",
    )
    .await?;
    let login = StoredLogin {
        url: url.trim_end_matches('/').to_owned(),
        api_url: portal.api_url,
        client_id: portal.client_id,
        token_endpoint: portal.token_endpoint,
        refresh_token: answer
            .refresh_token
            .ok_or_else(|| anyhow::anyhow!("the identity provider gave no refresh token"))?,
        expires_at: now() + answer.expires_in.map_or(300, |s| s as i64),
        access_token: answer.access_token,
    };
    save(&login)?;
    Ok(login)
}

/// A signed-in person's access token, renewed (and the renewal kept) when it runs out.
pub async fn bearer(http: &reqwest::Client, login: &Mutex<StoredLogin>) -> anyhow::Result<String> {
    let current = login.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if current.expires_at - RENEW_BEFORE_SECS > now() {
        return Ok(current.access_token);
    }
    let answer = token_request(
        http,
        &current.token_endpoint,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &current.refresh_token),
            ("client_id", &current.client_id),
        ],
        "the identity provider refused",
    )
    .await
    .map_err(|e| match e.downcast::<Failure>() {
        Ok(Failure::Auth(_)) => {
            Failure::Auth("the sign-in has expired: run `ferry login` again".into()).into()
        }
        Ok(other) => other.into(),
        Err(e) => e,
    })?;
    let renewed = StoredLogin {
        access_token: answer.access_token.clone(),
        // Rotating providers send a new one; the others keep the old one valid.
        refresh_token: answer
            .refresh_token
            .unwrap_or(current.refresh_token.clone()),
        expires_at: now() + answer.expires_in.map_or(300, |s| s as i64),
        ..current
    };
    save(&renewed)?;
    *login.lock().unwrap_or_else(|e| e.into_inner()) = renewed;
    Ok(answer.access_token)
}

pub fn logout() -> anyhow::Result<bool> {
    match std::fs::remove_file(login_file()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}
