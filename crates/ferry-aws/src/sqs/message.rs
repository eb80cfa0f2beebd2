//! SQS message bodies into jobs. Free of the AWS SDK (serde and url only) so that the fuzz
//! crate compiles this very file without linking the SDK.

use anyhow::Context;
use ferry_core::ports::Job;

/// The jobs an SQS message body stands for: a job written by `SqsWorkQueue`, or an S3 event
/// notification (one job per created object; S3's test event and other events give none).
pub fn jobs_in_message(body: &str) -> anyhow::Result<Vec<Job>> {
    if let Ok(job) = serde_json::from_str::<Job>(body) {
        return Ok(vec![job]);
    }
    let value: serde_json::Value = serde_json::from_str(body).context("the message is not JSON")?;
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    let event: S3Notification =
        serde_json::from_value(value).context("the message is neither a job nor an S3 event")?;
    Ok(event
        .records
        .into_iter()
        .filter(|r| r.event_name.starts_with("ObjectCreated:"))
        .map(|r| Job::ObjectCreated {
            key: decode_event_key(&r.s3.object.key),
        })
        .collect())
}

/// The part of an S3 event notification that names what was created; everything else in a
/// record is ignored, so records from any S3 implementation parse.
#[derive(serde::Deserialize)]
struct S3Notification {
    #[serde(rename = "Records")]
    records: Vec<S3Record>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Record {
    event_name: String,
    s3: S3Entity,
}

#[derive(serde::Deserialize)]
struct S3Entity {
    object: S3Object,
}

#[derive(serde::Deserialize)]
struct S3Object {
    key: String,
}

/// S3 event keys are URL-encoded the form way: `+` is a space.
fn decode_event_key(key: &str) -> String {
    url::form_urlencoded::parse(format!("k={key}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| key.to_owned())
}
