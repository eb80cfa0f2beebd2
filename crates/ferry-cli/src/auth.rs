//! Finding the portal's API and identity provider, and getting access tokens for machine
//! credentials (OAuth client-credentials grant). The portal's `/config.json` names the API and
//! the issuer; the issuer's discovery document names its token endpoint, so one URL is all a
//! script is told.

use crate::api::unreachable;
use crate::failure::Failure;
use serde::Deserialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The scope of machine clients' tokens, on ferry-local and Cognito alike.
const MACHINE_SCOPE: &str = "ferry/transfers";
/// A token this close to expiry is replaced before a call, not after a refusal.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
struct PortalConfig {
    api_url: String,
    oidc: PortalOidc,
}

#[derive(Debug, Deserialize)]
struct PortalOidc {
    issuer: String,
    client_id: String,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
}

/// A token endpoint's answer, to any grant.
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenRefusal {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Where the portal's parts are, and the client its people sign in with.
pub struct Portal {
    pub api_url: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub client_id: String,
    pub scope: Option<String>,
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    what: &str,
) -> anyhow::Result<T> {
    let response = http.get(url).send().await.map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(Failure::Unavailable(format!(
            "{what} at {url} answered {}",
            response.status()
        ))
        .into());
    }
    response
        .json()
        .await
        .map_err(|e| anyhow::anyhow!("{what} at {url} is not what was expected: {e}"))
}

async fn portal_config(http: &reqwest::Client, url: &str) -> anyhow::Result<PortalConfig> {
    let url = url.trim_end_matches('/');
    get_json(
        http,
        &format!("{url}/config.json"),
        "the portal's configuration",
    )
    .await
}

/// Where the API of the portal at `url` is (recipients need nothing else).
pub async fn api_url(http: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    Ok(portal_config(http, url).await?.api_url)
}

impl Portal {
    pub async fn discover(http: &reqwest::Client, url: &str) -> anyhow::Result<Self> {
        let config = portal_config(http, url).await?;
        let issuer = config.oidc.issuer.trim_end_matches('/');
        let discovery: Discovery = get_json(
            http,
            &format!("{issuer}/.well-known/openid-configuration"),
            "the identity provider's discovery document",
        )
        .await?;
        Ok(Self {
            api_url: config.api_url,
            authorization_endpoint: discovery.authorization_endpoint,
            token_endpoint: discovery.token_endpoint,
            client_id: config.oidc.client_id,
            scope: config.oidc.scope,
        })
    }
}

pub struct ClientCredentials {
    pub id: String,
    pub secret: String,
}

/// Access tokens on demand: machine credentials' tokens are fetched again shortly before they
/// expire, a signed-in person's are renewed with their refresh token, and a recipient token
/// (from an emailed code) is used as it is.
pub enum TokenSource {
    Client {
        endpoint: String,
        credentials: ClientCredentials,
        current: Mutex<Option<(String, Instant)>>,
    },
    Login(Mutex<crate::login::StoredLogin>),
    Recipient(String),
}

impl TokenSource {
    pub fn client_credentials(endpoint: String, credentials: ClientCredentials) -> Self {
        Self::Client {
            endpoint,
            credentials,
            current: Mutex::new(None),
        }
    }

    pub async fn bearer(&self, http: &reqwest::Client) -> anyhow::Result<String> {
        match self {
            Self::Recipient(token) => Ok(token.clone()),
            Self::Login(login) => crate::login::bearer(http, login).await,
            Self::Client {
                endpoint,
                credentials,
                current,
            } => client_token(http, endpoint, credentials, current).await,
        }
    }
}

async fn client_token(
    http: &reqwest::Client,
    endpoint: &str,
    credentials: &ClientCredentials,
    current: &Mutex<Option<(String, Instant)>>,
) -> anyhow::Result<String> {
    {
        let current = current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, _)) = current
            .as_ref()
            .filter(|(_, expires)| Instant::now() + RENEW_BEFORE < *expires)
        {
            return Ok(token.clone());
        }
    }
    let answer = token_request(
        http,
        endpoint,
        Some(credentials),
        &[
            ("grant_type", "client_credentials"),
            ("scope", MACHINE_SCOPE),
        ],
        "the identity provider refused FERRY_CLIENT_ID and FERRY_CLIENT_SECRET",
    )
    .await?;
    let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(300));
    *current.lock().unwrap_or_else(|e| e.into_inner()) =
        Some((answer.access_token.clone(), Instant::now() + lifetime));
    Ok(answer.access_token)
}

/// One request to a token endpoint: the answer, or the provider's reason as a [`Failure`]
/// (`refused` says what was refused; a server error is worth trying again).
pub async fn token_request(
    http: &reqwest::Client,
    endpoint: &str,
    client: Option<&ClientCredentials>,
    form: &[(&str, &str)],
    refused: &str,
) -> anyhow::Result<TokenAnswer> {
    let mut request = http.post(endpoint).form(form);
    if let Some(client) = client {
        request = request.basic_auth(&client.id, Some(&client.secret));
    }
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    if status.is_success() {
        return response
            .json()
            .await
            .map_err(|e| anyhow::anyhow!("the token answer is not what was expected: {e}"));
    }
    let why = response
        .json::<TokenRefusal>()
        .await
        .map(|r| r.error_description.unwrap_or(r.error))
        .unwrap_or_else(|_| status.to_string());
    Err(if status.is_server_error() {
        Failure::Unavailable(format!("the identity provider failed: {why}"))
    } else {
        Failure::Auth(format!("{refused}: {why}"))
    }
    .into())
}
