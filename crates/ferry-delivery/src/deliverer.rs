//! `HttpDeliverer`: PUTs documents to presigned URLs and POSTs webhooks, through the guard.

use crate::guard::{self, Resolve, SystemResolver, Target};
use async_trait::async_trait;
use bytes::Bytes;
use ferry_core::ports::{ByteStream, Deliverer, DeliveryError};
use ferry_core::values::ContentMd5;
use futures_util::Stream;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, RequestBuilder, Response, redirect};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// A PUT also gets one second per MiB on top of `request_timeout`, so that a large document
/// sent at a slow but steady pace is not cut off.
const MIN_PUT_BYTES_PER_SECOND: u64 = 1 << 20;

/// Longest transport error detail kept in a delivery's `last_error`.
const MAX_REASON_CHARS: usize = 200;

/// What deliveries may reach and how long they may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetPolicy {
    /// **For local testing only** (ferry-local's `--allow-private-targets`): turns the guard
    /// off entirely, allowing plain `http` and loopback, private, link-local and metadata
    /// addresses. Anyone who can request a delivery can then reach your internal network.
    pub allow_private: bool,
    /// Limit for resolving the host and for establishing the connection.
    pub connect_timeout: Duration,
    /// Limit for a whole request, answer included.
    pub request_timeout: Duration,
    /// How much of an answer's body is read (and discarded) before the connection is dropped.
    pub max_response_bytes: usize,
}

impl Default for TargetPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5 * 60),
            max_response_bytes: 64 * 1024,
        }
    }
}

/// Delivers over HTTP(S) to addresses that passed the guard, and to nothing else.
pub struct HttpDeliverer {
    policy: TargetPolicy,
    resolver: Arc<dyn Resolve>,
}

impl HttpDeliverer {
    pub fn new(policy: TargetPolicy) -> anyhow::Result<Self> {
        Self::with_resolver(policy, Arc::new(SystemResolver))
    }

    /// With a chosen resolver (tests map names to addresses with it).
    pub fn with_resolver(policy: TargetPolicy, resolver: Arc<dyn Resolve>) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !policy.connect_timeout.is_zero() && !policy.request_timeout.is_zero(),
            "delivery timeouts must be longer than zero"
        );
        if policy.allow_private {
            tracing::warn!(
                "deliveries may reach private and loopback addresses over plain http: for local testing only"
            );
        }
        let deliverer = Self { policy, resolver };
        // Building one client now surfaces a broken TLS setup at startup, not at the first
        // delivery.
        deliverer.client(None)?;
        Ok(deliverer)
    }

    async fn vet(&self, url: &str) -> Result<Target, DeliveryError> {
        guard::vet(
            url,
            self.policy.allow_private,
            self.resolver.as_ref(),
            self.policy.connect_timeout,
        )
        .await
    }

    /// A client for one request. It can only reach the addresses the guard checked: its
    /// resolver knows nothing else, so a DNS answer changed since the check (a rebind) is
    /// never consulted.
    fn client(&self, pinned: Option<&(String, Vec<SocketAddr>)>) -> reqwest::Result<Client> {
        Client::builder()
            // A 3xx could point anywhere, the guard's checks included; it is reported instead.
            .redirect(redirect::Policy::none())
            // A proxy would resolve the host itself, past the guard.
            .no_proxy()
            .https_only(!self.policy.allow_private)
            .connect_timeout(self.policy.connect_timeout)
            .pool_max_idle_per_host(0)
            .user_agent(concat!("ferry-delivery/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PinnedResolver(pinned.cloned())))
            .build()
    }

    async fn send(
        &self,
        target: &Target,
        timeout: Duration,
        request: impl FnOnce(&Client) -> RequestBuilder,
    ) -> Result<(), DeliveryError> {
        let client = self
            .client(target.pinned.as_ref())
            .map_err(|e| DeliveryError::Failed(reason("could not set up the request", &e)))?;
        let outcome = match request(&client).timeout(timeout).send().await {
            Ok(response) => {
                let status = response.status();
                self.discard_body(response).await;
                if status.is_success() {
                    Ok(())
                } else if status.is_redirection() {
                    Err(DeliveryError::Failed(
                        "target answered with a redirect".into(),
                    ))
                } else {
                    Err(DeliveryError::Failed(format!(
                        "target answered {}",
                        status.as_u16()
                    )))
                }
            }
            Err(e) => Err(DeliveryError::Failed(transport_reason(&e))),
        };
        match &outcome {
            Ok(()) => tracing::debug!(host = target.host(), "delivery accepted by the target"),
            Err(e) => tracing::warn!(host = target.host(), error = %e, "delivery failed"),
        }
        outcome
    }

    /// Reads up to the policy's limit so the target sees its answer taken, without letting a
    /// target make us read forever.
    async fn discard_body(&self, mut response: Response) {
        let mut read = 0;
        while read < self.policy.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
    }
}

#[async_trait]
impl Deliverer for HttpDeliverer {
    async fn check_target(&self, url: &str) -> Result<(), DeliveryError> {
        self.vet(url).await.map(drop)
    }

    async fn put(
        &self,
        url: &str,
        body: ByteStream,
        size: u64,
        md5: &ContentMd5,
    ) -> Result<(), DeliveryError> {
        let target = self.vet(url).await?;
        let timeout = self
            .policy
            .request_timeout
            .saturating_add(Duration::from_secs(size / MIN_PUT_BYTES_PER_SECOND));
        let body = reqwest::Body::wrap_stream(SizedStream {
            inner: body,
            remaining: size,
        });
        self.send(&target, timeout, |client| {
            client
                .put(target.url.clone())
                // Set explicitly so the body goes with a length, not chunked: presigned S3
                // PUTs require one.
                .header(CONTENT_LENGTH, size)
                .header("Content-MD5", md5.to_base64())
                .body(body)
        })
        .await
    }

    async fn post(
        &self,
        url: &str,
        body: Bytes,
        headers: &[(String, String)],
    ) -> Result<(), DeliveryError> {
        let target = self.vet(url).await?;
        let mut map = HeaderMap::new();
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| DeliveryError::Refused(format!("invalid header name {name:?}")))?;
            // Framing is reqwest's business; a caller's value could desynchronise it.
            if ["host", "content-length", "transfer-encoding", "connection"]
                .contains(&name.as_str())
            {
                return Err(DeliveryError::Refused(format!(
                    "header {name} may not be set"
                )));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| DeliveryError::Refused(format!("invalid value for header {name}")))?;
            map.insert(name, value);
        }
        self.send(&target, self.policy.request_timeout, |client| {
            client.post(target.url.clone()).headers(map).body(body)
        })
        .await
    }
}

/// Answers only for the host the guard checked, with the addresses it checked.
struct PinnedResolver(Option<(String, Vec<SocketAddr>)>);

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let answer: Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> =
            match &self.0 {
                Some((host, addrs)) if host.eq_ignore_ascii_case(name.as_str()) => {
                    let addrs: reqwest::dns::Addrs = Box::new(addrs.clone().into_iter());
                    Ok(addrs)
                }
                _ => Err("the host name was not checked by the delivery guard".into()),
            };
        Box::pin(std::future::ready(answer))
    }
}

/// Passes the document through, failing if it is longer or shorter than the length sent in
/// `Content-Length`, so a mismatch is an error here rather than a confused target.
struct SizedStream {
    inner: ByteStream,
    remaining: u64,
}

impl Stream for SizedStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let len = chunk.len() as u64;
                if len > self.remaining {
                    return Poll::Ready(Some(Err(io::Error::other(
                        "the document is longer than its recorded size",
                    ))));
                }
                self.remaining -= len;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) if self.remaining > 0 => Poll::Ready(Some(Err(io::Error::other(
                "the document is shorter than its recorded size",
            )))),
            other => other,
        }
    }
}

/// A short reason for a transport error: what went wrong and its root cause. reqwest's own
/// message is left out because it carries the full URL.
fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "the target did not answer in time".into();
    }
    let what = if e.is_connect() {
        "could not connect to the target"
    } else if e.is_body() || e.is_request() {
        "sending to the target failed"
    } else {
        "the exchange with the target failed"
    };
    reason(what, e)
}

fn reason(what: &str, e: &reqwest::Error) -> String {
    let mut root: Option<&dyn std::error::Error> = None;
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        root = Some(cause);
        next = cause.source();
    }
    match root {
        Some(cause) => {
            let detail: String = cause.to_string().chars().take(MAX_REASON_CHARS).collect();
            format!("{what}: {detail}")
        }
        None => what.to_owned(),
    }
}
