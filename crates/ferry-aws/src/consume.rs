//! Taking jobs off the SQS queues: one message at a time, the same way in a Lambda function
//! (which SQS invokes with batches) and in `ferry-local --backend aws` (which polls).
//!
//! On a message's last receive (the queue's maxReceiveCount) a failing job is settled — the
//! document rejected or handed on without text, the failure audited — and the message still
//! counts as failed, so that it reaches the dead-letter queue and its alarm.

use crate::sqs::{QueueUrls, jobs_in_message};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use ferry_core::services::Ferry;
use std::time::Duration;
use tokio::sync::watch;

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
        if done && let Some(handle) = message.receipt_handle() {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(handle)
                .send()
                .await?;
        }
    }
    Ok(messages.len())
}
