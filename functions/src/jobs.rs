//! SQS batches into jobs. Every message is handled on its own and only the failed ones are
//! reported back (ReportBatchItemFailures), so one bad message never re-runs its neighbours.
//! Handlers are idempotent: SQS delivers at least once.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use ferry_aws::consume::handle_message;
use ferry_core::services::Ferry;

pub async fn handle_batch(
    ferry: &Ferry,
    max_receive_count: u32,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let body = message.body.as_deref().unwrap_or("");
        let receive_count = receive_count(&message);
        if !handle_message(ferry, &id, body, receive_count, max_receive_count).await {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
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
