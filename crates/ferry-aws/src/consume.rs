//! Taking jobs off the SQS queues: one message at a time, the same way in a Lambda function
//! (which SQS invokes with batches) and in `ferry-local --backend aws` (which polls).
//!
//! On a message's last receive (the queue's maxReceiveCount) a failing job is settled — the
//! document rejected or handed on without text, the failure audited — and the message still
//! counts as failed, so that it reaches the dead-letter queue and its alarm.
//!
//! A failed message comes back after a backoff ([`retry_delay`]) rather than after the queue's
//! visibility timeout, which must cover the function's longest run and so is far too long to
//! wait after a brief outage.

use crate::sqs::{QueueUrls, jobs_in_message};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use ferry_core::services::Ferry;
use std::time::Duration;
use tokio::sync::watch;

/// The wait before receive `receive_count + 1`: one minute, then four times longer each time
/// (1, 4, 16, 64 minutes: with five receives, about an hour and a half from first try to the
/// dead-letter queue), never more than SQS's 12 hours.
pub fn retry_delay(receive_count: u32) -> Duration {
    let minutes = 4u64.saturating_pow(receive_count.saturating_sub(1).min(10));
    Duration::from_secs(minutes.saturating_mul(60).min(12 * 3600))
}

/// How long a message that failed on receive `receive_count` waits; `None` on its last
/// receive, which was settled: it should reach the dead-letter queue (and its alarm) now.
pub fn retry_wait(receive_count: u32, max_receive_count: u32) -> Option<Duration> {
    (receive_count < max_receive_count).then(|| retry_delay(receive_count))
}

/// Makes a failed message visible again after [`retry_delay`].
#[derive(Clone)]
pub struct Backoff {
    client: Client,
    queues: QueueUrls,
}

impl Backoff {
    pub fn new(client: Client, queues: QueueUrls) -> Self {
        Self { client, queues }
    }

    /// The URL of one of our queues from its ARN (`arn:aws:sqs:region:account:name`), as Lambda
    /// names the queue of each record.
    pub fn queue_url(&self, arn: &str) -> Option<&str> {
        let name = arn.rsplit(':').next()?;
        [
            &self.queues.validate,
            &self.queues.extract,
            &self.queues.notify,
            &self.queues.deliver,
        ]
        .into_iter()
        .find(|url| url.rsplit('/').next() == Some(name))
        .map(String::as_str)
    }

    pub async fn delay(&self, queue_url: &str, receipt_handle: &str, wait: Duration) {
        delay_message(&self.client, queue_url, receipt_handle, wait).await
    }
}

/// Hides a received message for `wait`. Best effort: should it fail, the message comes back
/// after the queue's visibility timeout instead.
pub async fn delay_message(client: &Client, queue_url: &str, receipt_handle: &str, wait: Duration) {
    let seconds = i32::try_from(wait.as_secs()).unwrap_or(12 * 3600);
    let changed = client
        .change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(seconds)
        .send()
        .await;
    if let Err(e) = changed {
        tracing::warn!(
            error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
            "delaying a failed message's retry failed"
        );
    }
}

/// Whether the message is done with (delete it) or must come back.
pub async fn handle_message(
    ferry: &Ferry,
    message_id: &str,
    body: &str,
    receive_count: u32,
    max_receive_count: u32,
) -> bool {
    let jobs = match jobs_in_message(body) {
        Ok(jobs) => jobs,
        Err(e) => {
            // It will never parse: leave it for the dead-letter queue, where someone looks.
            tracing::error!(message_id, error = %e, "a message that is not a job");
            return false;
        }
    };
    let last_receive = receive_count >= max_receive_count;
    let mut done = true;
    for job in jobs {
        let Err(e) = ferry.handle_job(&job).await else {
            continue;
        };
        done = false;
        tracing::warn!(message_id, job = job.kind(), error = %e, last_receive, "a job failed");
        if last_receive && let Err(e) = ferry.abandon_job(&job).await {
            tracing::error!(message_id, job = job.kind(), error = %e, "settling a failed job failed");
        }
    }
    done
}

/// Polls the four queues until `stop` turns true, handling each message as a function would.
/// A failed message is left to become visible again, as with Lambda's SQS integration.
pub async fn poll(
    ferry: &Ferry,
    client: &Client,
    queues: &QueueUrls,
    max_receive_count: u32,
    mut stop: watch::Receiver<bool>,
) {
    let urls = [
        &queues.validate,
        &queues.extract,
        &queues.notify,
        &queues.deliver,
    ];
    while !*stop.borrow() {
        let mut idle = true;
        for url in urls {
            match receive_and_handle(ferry, client, url, max_receive_count).await {
                Ok(handled) => idle &= handled == 0,
                Err(e) => tracing::error!(error = %e, "receiving from a queue failed"),
            }
        }
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// One receive from one queue; returns how many messages it handled.
pub async fn receive_and_handle(
    ferry: &Ferry,
    client: &Client,
    url: &str,
    max_receive_count: u32,
) -> anyhow::Result<usize> {
    let received = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await?;
    let messages = received.messages.unwrap_or_default();
    for message in &messages {
        let receive_count = message
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let id = message.message_id().unwrap_or("");
        let body = message.body().unwrap_or("");
        let done = handle_message(ferry, id, body, receive_count, max_receive_count).await;
        let Some(handle) = message.receipt_handle() else {
            continue;
        };
        if done {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(handle)
                .send()
                .await?;
        } else if let Some(wait) = retry_wait(receive_count, max_receive_count) {
            delay_message(client, url, handle, wait).await;
        }
    }
    Ok(messages.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_fourfold_up_to_sqs_limit() {
        let minutes: Vec<u64> = (1..=5).map(|n| retry_delay(n).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 4, 16, 64, 256]);
        assert_eq!(retry_delay(0), Duration::from_secs(60));
        assert_eq!(retry_delay(40), Duration::from_secs(12 * 3600));
    }

    #[test]
    fn lambda_names_a_queue_by_its_arn() {
        let backoff = Backoff::new(
            Client::from_conf(
                aws_sdk_sqs::Config::builder()
                    .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
                    .build(),
            ),
            QueueUrls {
                validate: "https://sqs.eu-west-1.amazonaws.com/123456789012/ferry-Validate-1A"
                    .into(),
                extract: "https://sqs.eu-west-1.amazonaws.com/123456789012/ferry-Extract-2B".into(),
                notify: "https://sqs.eu-west-1.amazonaws.com/123456789012/ferry-Notify-3C".into(),
                deliver: "https://sqs.eu-west-1.amazonaws.com/123456789012/ferry-Deliver-4D".into(),
            },
        );
        assert_eq!(
            backoff.queue_url("arn:aws:sqs:eu-west-1:123456789012:ferry-Notify-3C"),
            Some("https://sqs.eu-west-1.amazonaws.com/123456789012/ferry-Notify-3C")
        );
        assert_eq!(
            backoff.queue_url("arn:aws:sqs:eu-west-1:123456789012:other"),
            None
        );
    }
}
