//! The issuer's signing keys over HTTPS: its discovery document names `jwks_uri` (Cognito,
//! Keycloak and any OIDC provider publish one), unless the operator names the keys' URL.

use anyhow::{Context, bail};
use async_trait::async_trait;
use ferry_core::auth::jwks::JwksFetcher;
use jsonwebtoken::jwk::JwkSet;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Key sets are a few kilobytes; anything much larger is not one.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

pub struct HttpJwksFetcher {
    client: reqwest::Client,
    issuer: String,
    jwks_url: OnceCell<String>,
}

impl HttpJwksFetcher {
    pub fn new(issuer: &str, jwks_url: Option<String>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client for the issuer's keys")?;
        let known = OnceCell::new();
        if let Some(url) = jwks_url {
            let _ = known.set(url);
        }
        Ok(Self {
            client,
            issuer: issuer.trim_end_matches('/').to_owned(),
            jwks_url: known,
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .with_context(|| format!("fetching {url}"))?;
        if !response.status().is_success() {
            bail!("{url} answered {}", response.status());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                bail!("{url} sent more than {MAX_DOCUMENT_BYTES} bytes");
            }
        }
        serde_json::from_slice(&body).with_context(|| format!("decoding {url}"))
    }

    async fn jwks_url(&self) -> anyhow::Result<&str> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let url = self
            .jwks_url
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.issuer);
                let discovery: Discovery = self.get_json(&url).await?;
                // A discovery document for another issuer would hand us someone else's keys.
                if discovery.issuer.trim_end_matches('/') != self.issuer {
                    bail!("the discovery document at {url} is for another issuer");
                }
                anyhow::Ok(discovery.jwks_uri)
            })
            .await?;
        Ok(url)
    }
}

#[async_trait]
impl JwksFetcher for HttpJwksFetcher {
    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        let url = self.jwks_url().await?.to_owned();
        self.get_json(&url).await
    }
}
