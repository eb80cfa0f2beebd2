//! Creates what Ferry needs in an account when it is missing — bucket, table, queues, sender
//! identity, and for the functions a token key — for `ferry-local --backend aws
//! --create-resources` and the tests against moto. Production gets the same from `template.yaml`, with the hardening
//! only CloudFormation expresses (encryption keys, policies, alarms, dead-letter queues).
//! Every step tolerates what already exists, so running it twice changes nothing.

use crate::sqs::QueueUrls;
use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CorsConfiguration, CorsRule, CreateBucketConfiguration, Event, ExpirationStatus, FilterRule,
    FilterRuleName, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;

/// The template's PurgeBackstopDays default: the longest transfer lifetime (30 days) and one.
const BACKSTOP_DAYS: i32 = 31;

/// The names of the resources: all derive from one prefix.
#[derive(Clone, Debug)]
pub struct Plan {
    pub prefix: String,
    /// The portal's origin, the only one the bucket's CORS allows.
    pub portal_origin: String,
    pub sender_email: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resources {
    pub bucket: String,
    pub table: String,
    pub queues: QueueUrls,
}

fn bucket_name(plan: &Plan) -> String {
    format!("{}-documents", plan.prefix)
}

fn queue_name(plan: &Plan, work: &str) -> String {
    format!("{}-{work}", plan.prefix)
}

/// The resources of `plan`, which must exist: a clear error names the first one missing.
pub async fn find_resources(
    sdk: &SdkConfig,
    s3: &aws_sdk_s3::Client,
    plan: &Plan,
) -> anyhow::Result<Resources> {
    let missing = "(run with --create-resources to create it)";
    let bucket = bucket_name(plan);
    s3.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .with_context(|| format!("the bucket {bucket} is missing {missing}"))?;
    let table = plan.prefix.clone();
    aws_sdk_dynamodb::Client::new(sdk)
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .with_context(|| format!("the table {table} is missing {missing}"))?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = |work: &'static str| {
        let (sqs, name) = (sqs.clone(), queue_name(plan, work));
        async move {
            sqs.get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .ok()
                .and_then(|q| q.queue_url)
                .with_context(|| format!("the queue {name} is missing {missing}"))
        }
    };
    Ok(Resources {
        bucket,
        table,
        queues: QueueUrls {
            validate: url("validate").await?,
            extract: url("extract").await?,
            notify: url("notify").await?,
            deliver: url("deliver").await?,
        },
    })
}

pub async fn create_resources(
    sdk: &SdkConfig,
    s3: &aws_sdk_s3::Client,
    plan: &Plan,
) -> anyhow::Result<Resources> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queues = QueueUrls {
        validate: queue(&sqs, &queue_name(plan, "validate")).await?,
        extract: queue(&sqs, &queue_name(plan, "extract")).await?,
        notify: queue(&sqs, &queue_name(plan, "notify")).await?,
        deliver: queue(&sqs, &queue_name(plan, "deliver")).await?,
    };
    let bucket = bucket_name(plan);
    let region = sdk.region().map(|r| r.as_ref());
    create_bucket(s3, region, &bucket, &plan.portal_origin).await?;
    notify_validate_queue(s3, &sqs, &bucket, &queues.validate).await?;

    let table = plan.prefix.clone();
    crate::dynamodb::create_table(&aws_sdk_dynamodb::Client::new(sdk), &table).await?;
    sender_identity(sdk, &plan.sender_email).await?;
    Ok(Resources {
        bucket,
        table,
        queues,
    })
}

/// CreateQueue returns the existing queue's URL when the attributes match.
async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> anyhow::Result<String> {
    let created = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .with_context(|| format!("creating the queue {name}"))?;
    created
        .queue_url
        .with_context(|| format!("the queue {name} has no URL"))
}

async fn create_bucket(
    s3: &aws_sdk_s3::Client,
    region: Option<&str>,
    bucket: &str,
    origin: &str,
) -> anyhow::Result<()> {
    if s3.head_bucket().bucket(bucket).send().await.is_err() {
        // us-east-1 is S3's default location and may not be named; every other region must.
        let location = region.filter(|r| *r != "us-east-1").map(|r| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(r))
                .build()
        });
        s3.create_bucket()
            .bucket(bucket)
            .set_create_bucket_configuration(location)
            .send()
            .await
            .with_context(|| format!("creating the bucket {bucket}"))?;
    }
    // Browsers upload straight into the bucket and must read each part's ETag.
    let rule = CorsRule::builder()
        .allowed_origins(origin)
        .allowed_methods("PUT")
        .allowed_methods("GET")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(600)
        .build()?;
    s3.put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(CorsConfiguration::builder().cors_rules(rule).build()?)
        .send()
        .await
        .with_context(|| format!("setting CORS on the bucket {bucket}"))?;
    // The backstop of the template's lifecycle rule: bytes no purge removed, and uploads never
    // completed, go after the longest transfer lifetime and a day.
    // The speed test's zeros are worth nothing once timed.
    let rules = [
        ("transfers/", BACKSTOP_DAYS),
        ("text/", BACKSTOP_DAYS),
        (ferry_core::ports::SPEED_TEST_PREFIX, 1),
    ]
    .map(|(prefix, days)| {
        LifecycleRule::builder()
            .id(format!("expire-{}", prefix.trim_end_matches('/')))
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
            .expiration(LifecycleExpiration::builder().days(days).build())
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(days)
                    .build(),
            )
            .build()
    });
    let [transfers, text, probes] = rules;
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(transfers?)
                .rules(text?)
                .rules(probes?)
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("setting the lifecycle rules of the bucket {bucket}"))?;
    Ok(())
}

/// Uploads under `transfers/` and files in drop folders (`inbox/`) announce themselves on the
/// validate queue, as in the template.
async fn notify_validate_queue(
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    bucket: &str,
    queue_url: &str,
) -> anyhow::Result<()> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .context("reading the validate queue's ARN")?;
    let queue_arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .context("the validate queue has no ARN")?;
    // S3 may send to the queue only for this bucket's events.
    let partition = queue_arn.split(':').nth(1).unwrap_or("aws");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "BucketNotifications",
            "Effect": "Allow",
            "Principal": { "Service": "s3.amazonaws.com" },
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": { "ArnEquals": { "aws:SourceArn": format!("arn:{partition}:s3:::{bucket}") } }
        }]
    });
    sqs.set_queue_attributes()
        .queue_url(queue_url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .context("letting the bucket send to the validate queue")?;
    // Two configurations: S3 allows one filter prefix per configuration.
    let mut configurations = Vec::new();
    for (id, prefix) in [
        ("validate", "transfers/"),
        ("drop-folders", ferry_core::inbox::INBOX_PREFIX),
    ] {
        let filter = NotificationConfigurationFilter::builder()
            .key(
                S3KeyFilter::builder()
                    .filter_rules(
                        FilterRule::builder()
                            .name(FilterRuleName::Prefix)
                            .value(prefix)
                            .build(),
                    )
                    .build(),
            )
            .build();
        configurations.push(
            QueueConfiguration::builder()
                .id(id)
                .queue_arn(queue_arn)
                .events(Event::from("s3:ObjectCreated:*"))
                .filter(filter)
                .build()?,
        );
    }
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(configurations))
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("routing the bucket {bucket}'s uploads to the validate queue"))?;
    Ok(())
}

/// The key of the functions' recipient tokens, generated once; returns its ARN.
pub async fn token_secret(sdk: &SdkConfig, name: &str) -> anyhow::Result<String> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    if let Ok(existing) = client.describe_secret().secret_id(name).send().await
        && let Some(arn) = existing.arn
    {
        return Ok(arn);
    }
    let password = client
        .get_random_password()
        .password_length(64)
        .exclude_punctuation(true)
        .send()
        .await
        .context("generating the recipient token key")?;
    let created = client
        .create_secret()
        .name(name)
        .secret_string(password.random_password.context("no password generated")?)
        .send()
        .await
        .with_context(|| format!("creating the secret {name}"))?;
    created.arn.context("the new secret has no ARN")
}

/// SES sends only from verified identities; in a real account the address must then be
/// confirmed from its mailbox.
pub async fn sender_identity(sdk: &SdkConfig, sender: &str) -> anyhow::Result<()> {
    let ses = aws_sdk_sesv2::Client::new(sdk);
    if ses
        .get_email_identity()
        .email_identity(sender)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    ses.create_email_identity()
        .email_identity(sender)
        .send()
        .await
        .with_context(|| format!("creating the SES identity {sender}"))?;
    Ok(())
}
