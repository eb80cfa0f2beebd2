//! SQS batches into jobs. Every message is handled on its own and only the failed ones are
//! reported back (ReportBatchItemFailures), so one bad message never re-runs its neighbours.
//! Handlers are idempotent: SQS delivers at least once. A failed message comes back after a
//! backoff, not after the queue's long visibility timeout.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use ferry_aws::consume::{Backoff, handle_message, retry_wait};
use ferry_core::services::Ferry;

/// How failed messages are retried.
#[derive(Clone)]
pub struct Retries {
    /// The queues' maxReceiveCount: on this receive a failing job is settled, not retried.
    pub max_receive_count: u32,
    /// `None` leaves the wait to the queue's visibility timeout.
    pub backoff: Option<Backoff>,
}

pub async fn handle_batch(ferry: &Ferry, retries: &Retries, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let body = message.body.as_deref().unwrap_or("");
        let receive_count = receive_count(&message);
        if handle_message(ferry, &id, body, receive_count, retries.max_receive_count).await {
            continue;
        }
        if let Some(wait) = retry_wait(receive_count, retries.max_receive_count)
            && let Some(backoff) = &retries.backoff
            && let Some(url) = message
                .event_source_arn
                .as_deref()
                .and_then(|arn| backoff.queue_url(arn))
            && let Some(handle) = message.receipt_handle.as_deref()
        {
            backoff.delay(url, handle, wait).await;
        }
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// SQS counts receives from 1; a message without the attribute is treated as a first receive.
fn receive_count(message: &SqsMessage) -> u32 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}
