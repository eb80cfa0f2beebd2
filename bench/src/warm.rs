//! Warm latency of presign-upload's request handling, in process: the API Gateway event as
//! Lambda hands it over, through lambda_http and the API's router to the services, with
//! in-memory adapters for the table, queues, mail and users and the real S3 presigner (which
//! needs no network). Then the parts alone, to show where the time goes.

use crate::Setup;
use crate::events::{api_request, new_transfer};
use crate::report::{Figure, Row, Section, Unit};
use crate::stats::{percentile, sorted};
use anyhow::{Context, bail};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use chrono::Utc;
use ferry_aws::s3::S3ObjectStore;
use ferry_core::auth::jwks::JwksCache;
use ferry_core::auth::oidc::{OidcConfig, OidcVerifier};
use ferry_core::auth::recipient::RecipientTokens;
use ferry_core::config::Settings;
use ferry_core::ports::{NewUser, ObjectStore, SystemClock};
use ferry_core::services::{Ferry, Ports};
use ferry_core::values::{ContentMd5, EmailAddress, Role};
use ferry_functions::jwks::HttpJwksFetcher;
use ferry_testbed::issuer::{AUDIENCE, TestIssuer};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context as LambdaContext, LambdaEvent};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::{Service, ServiceExt};

const WARM_UP: usize = 200;

async fn ferry(issuer: &TestIssuer) -> anyhow::Result<(Arc<Ferry>, Arc<dyn ObjectStore>)> {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDBENCHMARK0000000",
            "benchmark-secret",
            None,
            None,
            "bench",
        ))
        .load()
        .await;
    let store: Arc<dyn ObjectStore> = Arc::new(S3ObjectStore::new(
        ferry_aws::s3::client(&sdk),
        "ferry-documents",
    ));
    let ports = Ports::in_memory(store.clone(), Arc::new(SystemClock));
    let settings = Settings::new("https://ferry.example.com");
    let oidc = OidcVerifier::new(
        OidcConfig {
            issuer: issuer.issuer.clone(),
            audience: AUDIENCE.into(),
            ..OidcConfig::default()
        },
        Arc::new(JwksCache::new(
            Arc::new(HttpJwksFetcher::new(
                &issuer.issuer,
                Some(issuer.jwks_url.clone()),
            )?),
            Duration::from_secs(3600),
        )),
    );
    let tokens = RecipientTokens::new(&[7; 32], settings.recipient_token_ttl);
    Ok((Arc::new(Ferry::new(ports, settings, tokens, oidc)), store))
}

/// Times `iterations` calls of `step` after a warm-up, in microseconds each.
async fn time(
    iterations: usize,
    mut step: impl AsyncFnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Vec<f64>> {
    for _ in 0..WARM_UP {
        step().await?;
    }
    let mut micros = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        step().await?;
        micros.push(start.elapsed().as_secs_f64() * 1e6);
    }
    Ok(micros)
}

struct Latency {
    p50: f64,
    p99: f64,
    count: usize,
}

fn latency(micros: &[f64]) -> Latency {
    let sorted = sorted(micros);
    Latency {
        p50: percentile(&sorted, 50.0),
        p99: percentile(&sorted, 99.0),
        count: sorted.len(),
    }
}

pub async fn run(setup: &Setup) -> anyhow::Result<Section> {
    let iterations = setup.runs(10_000, 500);
    let issuer = TestIssuer::start().await;
    let (ferry, store) = ferry(&issuer).await?;
    let member = ferry
        .ports
        .users
        .create(NewUser {
            email: EmailAddress::parse("member@example.com").map_err(anyhow::Error::msg)?,
            name: "Member".into(),
            roles: vec![Role::Member],
            password: None,
        })
        .await?;
    let token = issuer.token(member.id.as_str(), &["member"]);
    let event = api_request(
        &setup.repo,
        "POST",
        "/api/v1/transfers",
        Some(&token),
        Some(&new_transfer()),
    )?
    .to_string();

    let mut adapter = Adapter::from(ferry_functions::http::app(ferry.clone()));
    let whole = time(iterations, async || {
        let request = serde_json::from_str::<LambdaRequest>(&event)?;
        let answer = ServiceExt::<LambdaEvent<LambdaRequest>>::ready(&mut adapter)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .call(LambdaEvent::new(request, LambdaContext::default()))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let json = serde_json::to_vec(&answer)?;
        if !json.windows(16).any(|w| w == b"\"statusCode\":201") {
            bail!(
                "the request was not answered 201: {}",
                String::from_utf8_lossy(&json)
            );
        }
        Ok(())
    })
    .await
    .context("the whole request")?;

    let parse = time(iterations, async || {
        serde_json::from_str::<LambdaRequest>(&event)?;
        Ok(())
    })
    .await?;
    let verify = time(iterations, async || {
        ferry.oidc.verify(&token).await?;
        Ok(())
    })
    .await?;
    let md5 = ContentMd5::parse("1B2M2Y8AsgTpgAmY7PhCfg==").map_err(anyhow::Error::msg)?;
    let presign = time(iterations, async || {
        store
            .presign_put(
                "transfers/0/1",
                &md5,
                1_048_576,
                Utc::now() + chrono::Duration::hours(1),
            )
            .await?;
        Ok(())
    })
    .await?;

    let whole_latency = latency(&whole);
    let parts = [
        (
            "parse the API Gateway event (serde_json → lambda_http)",
            &parse,
        ),
        ("verify the access token (RS256, keys cached)", &verify),
        ("presign one PUT (SigV4, aws-sdk-s3)", &presign),
    ];
    let mut rows = vec![
        Row::new(
            format!("whole request, p50 ({} requests)", whole_latency.count),
            Figure::new(&[whole_latency.p50], Unit::Microseconds),
        ),
        Row::new(
            format!("whole request, p99 ({} requests)", whole_latency.count),
            Figure::new(&[whole_latency.p99], Unit::Microseconds),
        ),
    ];
    let mut accounted = 0.0;
    for (name, micros) in parts {
        let part = latency(micros);
        accounted += part.p50;
        rows.push(Row::new(
            format!("{name}, p50 (p99 {:.1} µs)", part.p99),
            Figure::new(&[part.p50], Unit::Microseconds),
        ));
    }
    rows.push(Row::new(
        "the rest: routing, body checks, the transfer written to the in-memory table, the answer serialised, p50 difference",
        Figure::new(&[(whole_latency.p50 - accounted).max(0.0)], Unit::Microseconds),
    ));
    Ok(Section {
        title: "Warm latency of presign-upload".into(),
        method: format!(
            "In one process: `POST /api/v1/transfers` with one file, as the API Gateway event \
             JSON Lambda hands over, parsed into lambda_http's request, through \
             `lambda_http::Adapter` and the API's axum router to the services, and the answer \
             serialised back to JSON, {iterations} times after {WARM_UP} to warm up. The table, \
             queues, mail and users are in memory; the presigner is the real S3 one (SigV4 \
             needs no network); the token is an RS256 access token whose issuer's keys were \
             fetched once. Then each part alone, the same number of times. No baseline: the \
             Python function's warm invocation under awslambdaric is in the cold start table \
             (second invocation)."
        ),
        rows,
        notes: vec![],
    })
}
