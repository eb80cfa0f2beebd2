//! Ferry's HTTP API as the command line uses it: typed answers, problem+json turned into
//! [`Failure`]s, and a fresh bearer token on every call.

use crate::auth::TokenSource;
use crate::failure::Failure;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Transfer {
    pub id: String,
    pub status: String,
    pub subject: String,
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    #[serde(default)]
    pub documents: Vec<Document>,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Recipient {
    pub email: String,
    pub status: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Document {
    pub id: String,
    pub name: String,
    pub size: u64,
    /// `None` while a file sent in parts has not declared it yet.
    #[serde(default)]
    pub md5: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing)]
    pub upload: Option<UploadPlan>,
}

impl Document {
    /// Validated, refused or gone: nothing more will happen to it.
    pub fn is_settled(&self) -> bool {
        matches!(self.status.as_str(), "ready" | "rejected" | "purged")
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum UploadPlan {
    Single(SignedRequest),
    Multipart { part_size: u64, part_count: u32 },
}

#[derive(Clone, Debug, Deserialize)]
pub struct SignedRequest {
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct SignedPart {
    pub number: u32,
    #[serde(flatten)]
    pub request: SignedRequest,
}

#[derive(Debug, Serialize)]
pub struct NewFile {
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// Left out for a file sent in parts: its MD5 comes with `complete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct NewTransfer {
    pub recipients: Vec<String>,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_hours: Option<u64>,
    pub files: Vec<NewFile>,
}

pub struct Api {
    http: reqwest::Client,
    /// `{api_url}/api/v1`, without a trailing slash.
    base: String,
    tokens: TokenSource,
}

/// The failure an answer stands for, with the server's `detail` when it sent one.
async fn failure(response: reqwest::Response) -> Failure {
    let status = response.status();
    let detail = response
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| {
            v.get("detail")
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
    let message = format!("{detail} ({})", status.as_u16());
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Failure::Auth(message),
        StatusCode::NOT_FOUND | StatusCode::GONE => Failure::NotFound(message),
        StatusCode::TOO_MANY_REQUESTS => Failure::Unavailable(message),
        s if s.is_server_error() => Failure::Unavailable(message),
        _ => Failure::Refused(message),
    }
}

pub fn unreachable(e: reqwest::Error) -> Failure {
    Failure::Unavailable(format!("the server could not be reached: {e}"))
}

impl Api {
    pub fn new(http: reqwest::Client, api_url: &str, tokens: TokenSource) -> Self {
        Self {
            http,
            base: format!("{}/api/v1", api_url.trim_end_matches('/')),
            tokens,
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<T> {
        let token = self.tokens.bearer(&self.http).await?;
        // JSON answers only: the download route then gives its URL instead of a redirect.
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(failure(response).await.into());
        }
        response
            .json()
            .await
            .map_err(|e| anyhow::anyhow!("the server's answer is not what was expected: {e}"))
    }

    pub async fn create_transfer(&self, transfer: &NewTransfer) -> anyhow::Result<Transfer> {
        self.call(
            Method::POST,
            "/transfers",
            Some(serde_json::to_value(transfer)?),
        )
        .await
    }

    pub async fn transfer(&self, id: &str) -> anyhow::Result<Transfer> {
        self.call(Method::GET, &format!("/transfers/{id}"), None)
            .await
    }

    pub async fn list(&self, received: bool) -> anyhow::Result<Vec<Transfer>> {
        let mailbox = if received { "received" } else { "sent" };
        let list: Value = self
            .call(Method::GET, &format!("/transfers?box={mailbox}"), None)
            .await?;
        Ok(serde_json::from_value(
            list.get("transfers").cloned().unwrap_or_default(),
        )?)
    }

    pub async fn sign_parts(
        &self,
        transfer: &str,
        document: &str,
        parts: &[(u32, String)],
    ) -> anyhow::Result<Vec<SignedPart>> {
        let parts: Vec<Value> = parts
            .iter()
            .map(|(number, md5)| json!({ "number": number, "md5": md5 }))
            .collect();
        let signed: Value = self
            .call(
                Method::POST,
                &format!("/transfers/{transfer}/documents/{document}/parts"),
                Some(json!({ "parts": parts })),
            )
            .await?;
        Ok(serde_json::from_value(
            signed.get("parts").cloned().unwrap_or_default(),
        )?)
    }

    /// A short-lived URL of a ready document's bytes.
    pub async fn download_url(&self, transfer: &str, document: &str) -> anyhow::Result<String> {
        let link: Value = self
            .call(
                Method::GET,
                &format!("/transfers/{transfer}/documents/{document}/content"),
                None,
            )
            .await?;
        link.get("url")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("the server's answer holds no download URL"))
    }

    pub async fn confirm_receipt(&self, transfer: &str) -> anyhow::Result<Transfer> {
        self.call(
            Method::POST,
            &format!("/transfers/{transfer}/receipt"),
            None,
        )
        .await
    }

    pub async fn complete(
        &self,
        transfer: &str,
        document: &str,
        etags: &[String],
        md5: &str,
    ) -> anyhow::Result<()> {
        let parts: Vec<Value> = etags
            .iter()
            .enumerate()
            .map(|(i, etag)| json!({ "number": i + 1, "etag": etag }))
            .collect();
        let _: Value = self
            .call(
                Method::POST,
                &format!("/transfers/{transfer}/documents/{document}/complete"),
                Some(json!({ "parts": parts, "md5": md5 })),
            )
            .await?;
        Ok(())
    }
}

/// The answer of `POST /api/v1/access/verify`.
#[derive(Debug, Deserialize)]
pub struct AccessGrant {
    pub access_token: String,
    pub transfer_id: String,
}

/// The access routes take no bearer token: the link (and then the code) is the credential.
pub struct Access<'a> {
    pub http: &'a reqwest::Client,
    pub api_url: &'a str,
}

impl Access<'_> {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!(
                "{}/api/v1{path}",
                self.api_url.trim_end_matches('/')
            ))
            .json(&body)
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(failure(response).await.into());
        }
        Ok(response.json().await?)
    }

    /// Emails a fresh code to the link's recipient.
    pub async fn request_code(&self, link_token: &str) -> anyhow::Result<()> {
        self.post("/access", json!({ "link_token": link_token }))
            .await
            .map(drop)
    }

    pub async fn verify(&self, link_token: &str, code: &str) -> anyhow::Result<AccessGrant> {
        let grant = self
            .post(
                "/access/verify",
                json!({ "link_token": link_token, "code": code }),
            )
            .await?;
        Ok(serde_json::from_value(grant)?)
    }
}
