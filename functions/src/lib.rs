//! Ferry's Lambda functions. Each binary in `src/bin` is one function of `template.yaml` and
//! only picks its entry point here; the entry points wire the AWS adapters to the same
//! services ferry-local runs.
//!
//! Each binary runs on tokio's current-thread runtime: Lambda hands an instance one event at a
//! time, so more threads would only cost memory; what must not hold up the event loop (the
//! digests, PDF parsing) goes to blocking threads.

pub mod environment;
pub mod events;
pub mod http;
pub mod jobs;
pub mod jwks;
pub mod sign_ins;
pub mod wiring;

use aws_config::SdkConfig;
use environment::Environment;
use ferry_aws::consume::Backoff;
use ferry_core::services::Ferry;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::sync::Arc;
use wiring::Role;

/// Cognito's post-authentication trigger: sign-ins into the audit trail. It needs the table
/// only, and is given nothing else: the user pool that calls it cannot be named in its
/// configuration without a circular reference in the template.
pub async fn record_sign_ins() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let table = match std::env::var("TABLE_NAME") {
        Ok(table) if !table.trim().is_empty() => table,
        _ => {
            let e = anyhow::anyhow!("the environment variable TABLE_NAME is not set");
            return Err(cannot_start(e).await);
        }
    };
    let sdk = wiring::sdk_config().await;
    let catalog = Arc::new(ferry_aws::dynamodb::DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        table.trim(),
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let catalog = catalog.clone();
        async move {
            sign_ins::record(catalog.as_ref(), &event.payload).await;
            Ok::<_, Error>(event.payload)
        }
    }))
    .await
}

async fn init(role: Role) -> Result<(Environment, SdkConfig, Arc<Ferry>), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let wired = async {
        let env = Environment::from_env()?;
        let sdk = wiring::sdk_config().await;
        let ferry = wiring::ferry(&env, &sdk, role).await?;
        anyhow::Ok((env, sdk, ferry))
    };
    match wired.await {
        Ok(wired) => Ok(wired),
        Err(e) => Err(cannot_start(e).await),
    }
}

/// Logs why the function cannot start and tells Lambda; the error ends the process.
async fn cannot_start(error: anyhow::Error) -> Error {
    tracing::error!(error = format!("{error:#}"), "the function cannot start");
    report_init_error(&error).await;
    error.into()
}

/// Tells Lambda why the function could not start, so the reason shows where the invocation
/// failed instead of only "Runtime exited". The runtime crate reports only its own init errors.
async fn report_init_error(error: &anyhow::Error) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let body = serde_json::json!({
        "errorType": "Runtime.InitError",
        "errorMessage": format!("{error:#}"),
    });
    let sent = reqwest::Client::new()
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .json(&body)
        .send()
        .await;
    if let Err(e) = sent {
        tracing::error!(error = %e, "reporting the init error to Lambda failed");
    }
}

/// An HTTP API function: the API's routes behind API Gateway.
pub async fn serve_api() -> Result<(), Error> {
    let (_, _, ferry) = init(Role::Api).await?;
    http::serve(ferry).await
}

/// The HTTP API function of the administrators' routes, which take issuer tokens only.
pub async fn serve_admin_api() -> Result<(), Error> {
    let (_, _, ferry) = init(Role::AdminApi).await?;
    http::serve(ferry).await
}

/// A queue worker: SQS batches of jobs (and the bucket's S3 notifications).
pub async fn work_queue() -> Result<(), Error> {
    let (env, sdk, ferry) = init(Role::Worker).await?;
    let retries = jobs::Retries {
        max_receive_count: env.max_receive_count,
        backoff: Some(Backoff::new(
            aws_sdk_sqs::Client::new(&sdk),
            env.queues.clone(),
        )),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (ferry, retries) = (ferry.clone(), retries.clone());
        async move {
            events::handle(&ferry, &retries, event.payload)
                .await
                // The whole chain of causes, as the invocation's error message.
                .map_err(|e| Error::from(format!("{e:#}")))
        }
    }))
    .await
}
