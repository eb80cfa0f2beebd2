//! The work queue on SQS: one queue per kind of work, so each function scales and fails on its
//! own, and messages in the shapes the functions receive: a job as JSON, or the S3 event
//! notification the bucket sends to the validate queue.

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use ferry_core::ports::{Job, WorkQueue};
use std::time::Duration;

mod message;
pub use message::jobs_in_message;

/// SQS delays a message by at most 15 minutes.
const MAX_DELAY: Duration = Duration::from_secs(900);

/// Which queue each kind of job goes to (the template's queue URLs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueUrls {
    /// Uploads to check: the bucket's ObjectCreated notifications land here too.
    pub validate: String,
    /// Text extraction.
    pub extract: String,
    /// Emails to recipients and senders.
    pub notify: String,
    /// Deliveries to recipients' systems and purge checks.
    pub deliver: String,
}

impl QueueUrls {
    pub fn for_job(&self, job: &Job) -> &str {
        match job {
            Job::ObjectCreated { .. } => &self.validate,
            Job::Extract { .. } => &self.extract,
            Job::NotifyRecipient { .. } | Job::NotifySender { .. } => &self.notify,
            Job::Deliver { .. } | Job::Purge { .. } => &self.deliver,
        }
    }
}

pub struct SqsWorkQueue {
    client: Client,
    urls: QueueUrls,
}

impl SqsWorkQueue {
    pub fn new(client: Client, urls: QueueUrls) -> Self {
        Self { client, urls }
    }
}

#[async_trait]
impl WorkQueue for SqsWorkQueue {
    async fn enqueue(&self, job: &Job, delay: Duration) -> anyhow::Result<()> {
        let body = serde_json::to_string(job)?;
        let delay = i32::try_from(delay.min(MAX_DELAY).as_secs()).unwrap_or(900);
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(job.kind())
            .build()?;
        self.client
            .send_message()
            .queue_url(self.urls.for_job(job))
            .message_body(body)
            .delay_seconds(delay)
            .message_attributes("job", kind)
            .send()
            .await
            .with_context(|| format!("queueing a {} job", job.kind()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::ids::TransferId;

    #[test]
    fn jobs_and_s3_events_both_become_jobs() {
        let job = Job::NotifySender {
            transfer_id: TransferId::new(),
        };
        assert_eq!(
            jobs_in_message(&serde_json::to_string(&job).unwrap()).unwrap(),
            vec![job]
        );
        let event = r#"{"Records":[
            {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
             "eventTime":"2026-11-23T10:00:00.000Z","eventName":"ObjectCreated:CompleteMultipartUpload",
             "s3":{"s3SchemaVersion":"1.0","configurationId":"validate",
                   "bucket":{"name":"docs","arn":"arn:aws:s3:::docs"},
                   "object":{"key":"transfers/a%2Bb/c+d","size":5,"eTag":"x","sequencer":"1"}}},
            {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
             "eventTime":"2026-11-23T10:00:00.000Z","eventName":"ObjectRemoved:Delete",
             "s3":{"s3SchemaVersion":"1.0","configurationId":"validate",
                   "bucket":{"name":"docs","arn":"arn:aws:s3:::docs"},
                   "object":{"key":"transfers/x/y","sequencer":"2"}}}]}"#;
        assert_eq!(
            jobs_in_message(event).unwrap(),
            vec![Job::ObjectCreated {
                key: "transfers/a+b/c d".into()
            }]
        );
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-23T10:00:00.000Z","Bucket":"docs"}"#;
        assert!(jobs_in_message(test_event).unwrap().is_empty());
        assert!(jobs_in_message("not json").is_err());
        assert!(jobs_in_message(r#"{"what":"else"}"#).is_err());
    }

    #[test]
    fn each_kind_of_job_has_its_queue() {
        let urls = QueueUrls {
            validate: "v".into(),
            extract: "e".into(),
            notify: "n".into(),
            deliver: "d".into(),
        };
        let tid = TransferId::new();
        assert_eq!(urls.for_job(&Job::ObjectCreated { key: "k".into() }), "v");
        assert_eq!(urls.for_job(&Job::NotifySender { transfer_id: tid }), "n");
        assert_eq!(urls.for_job(&Job::Purge { transfer_id: tid }), "d");
    }
}
