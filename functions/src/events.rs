//! The events a worker function receives: SQS batches from its queues, and the EventBridge
//! schedule that runs the expiry sweep. One entry point tells them apart, so a function can
//! have both kinds of trigger.

use crate::jobs::{self, Retries};
use aws_lambda_events::sqs::SqsEvent;
use ferry_core::services::Ferry;
use serde_json::{Value, json};

pub async fn handle(ferry: &Ferry, retries: &Retries, event: Value) -> anyhow::Result<Value> {
    if is_schedule(&event) {
        // An error fails the invocation: the schedule's own retry policy and the function's
        // error alarm take it from there.
        let expired = ferry.sweep_expired().await?;
        if expired > 0 {
            tracing::info!(expired, "expired transfers ended and purged");
        }
        return Ok(json!({ "expired": expired }));
    }
    let batch: SqsEvent = serde_json::from_value(event)
        .map_err(|e| anyhow::anyhow!("the event is neither an SQS batch nor the schedule: {e}"))?;
    let response = jobs::handle_batch(ferry, retries, batch).await;
    Ok(serde_json::to_value(response)?)
}

/// EventBridge scheduled events: `"source": "aws.events"`, `"detail-type": "Scheduled Event"`.
fn is_schedule(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}
