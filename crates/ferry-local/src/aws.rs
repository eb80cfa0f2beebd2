//! `--backend aws`: the portal's documents, metadata, jobs and emails on AWS services — moto,
//! LocalStack or an account, as the SDK's standard environment says — through the same
//! adapters the Lambda functions use. Jobs are taken off the SQS queues by polling them.

use crate::app::{Adapters, JobRunner, Options, sweep};
use aws_config::BehaviorVersion;
use axum::Router;
use ferry_aws::consume;
use ferry_aws::dynamodb::DynamoCatalog;
use ferry_aws::provision::{self, Plan, Resources};
use ferry_aws::s3::S3ObjectStore;
use ferry_aws::s3_inbox::S3Inbox;
use ferry_aws::ses::SesMailer;
use ferry_aws::sqs::{QueueUrls, SqsWorkQueue};
use ferry_aws::textract::{CostAwareExtractor, ExtractionMode, TextractSettings};
use ferry_core::ports::ObjectStore;
use ferry_core::services::Ferry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// SQS's default maxReceiveCount in the template: the same number of attempts here.
const MAX_RECEIVE_COUNT: u32 = 5;

pub(crate) async fn adapters(options: &Options, public_url: &str) -> anyhow::Result<Adapters> {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let s3 = ferry_aws::s3::client(&sdk);
    let plan = Plan {
        prefix: options.aws_prefix.clone(),
        portal_origin: public_url.to_owned(),
        sender_email: options.sender_email.clone(),
    };
    let resources = if options.create_resources {
        provision::create_resources(&sdk, &s3, &plan).await?
    } else {
        provision::find_resources(&sdk, &s3, &plan).await?
    };
    let Resources {
        bucket,
        table,
        queues,
    } = resources;
    // The S3 client signs for the SDK's endpoint (an emulator), or for S3 itself.
    let storage_origin = sdk
        .endpoint_url()
        .and_then(|endpoint| url::Url::parse(endpoint).ok())
        .map_or_else(
            || "https://*.amazonaws.com".to_owned(),
            |url| url.origin().ascii_serialization(),
        );
    let inbox = Arc::new(S3Inbox::new(s3.clone(), &bucket));
    let store: Arc<dyn ObjectStore> = Arc::new(S3ObjectStore::new(s3, &bucket));
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    Ok(Adapters {
        store: store.clone(),
        inbox,
        drop_folder_location: format!("s3://{bucket}/inbox"),
        catalog: Arc::new(DynamoCatalog::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            table,
        )),
        queue: Arc::new(SqsWorkQueue::new(sqs.clone(), queues.clone())),
        mailer: Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(&sdk),
            format!("Ferry <{}>", options.sender_email),
        )),
        extractor: Arc::new(CostAwareExtractor::on_aws(
            ExtractionMode::Auto,
            store.clone(),
            &sdk,
            &bucket,
            TextractSettings::default(),
        )),
        routes: Router::new(),
        jobs: Box::new(SqsJobs { sqs, queues }),
        storage_origin: Some(storage_origin),
    })
}

struct SqsJobs {
    sqs: aws_sdk_sqs::Client,
    queues: QueueUrls,
}

impl JobRunner for SqsJobs {
    fn start(
        self: Box<Self>,
        ferry: Arc<Ferry>,
        workers: usize,
        sweep_every: Duration,
        stopped: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let pollers: Vec<_> = (0..workers)
            .map(|_| {
                let (ferry, sqs, queues, stopped) = (
                    ferry.clone(),
                    self.sqs.clone(),
                    self.queues.clone(),
                    stopped.clone(),
                );
                tokio::spawn(async move {
                    consume::poll(&ferry, &sqs, &queues, MAX_RECEIVE_COUNT, stopped).await;
                })
            })
            .collect();
        let sweeper = sweep(ferry, None, sweep_every, stopped);
        tokio::spawn(async move {
            sweeper.await;
            for poller in pollers {
                let _ = poller.await;
            }
        })
    }
}
