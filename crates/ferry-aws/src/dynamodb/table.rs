//! The catalog table as template.yaml declares it, for tests and `--create-resources`.

use super::items::{GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, GSI3, GSI3PK, PK, SK};
use anyhow::{Context, bail};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    SseSpecification, TimeToLiveSpecification, TimeToLiveStatus,
};
use std::time::Duration;

/// The attribute DynamoDB's TTL reads (epoch seconds); template.yaml names the same.
const TTL_ATTRIBUTE: &str = "expires_at_ttl";

/// A new on-demand table takes seconds to become active, rarely minutes.
const ACTIVE_WITHIN: Duration = Duration::from_secs(300);
const BACKUP_ATTEMPTS: u32 = 24;
const BACKUP_RETRY: Duration = Duration::from_secs(5);

fn key(name: &str, kind: KeyType) -> anyhow::Result<KeySchemaElement> {
    Ok(KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()?)
}

fn index(name: &str, hash: &str, range: Option<&str>) -> anyhow::Result<GlobalSecondaryIndex> {
    let mut schema = vec![key(hash, KeyType::Hash)?];
    if let Some(range) = range {
        schema.push(key(range, KeyType::Range)?);
    }
    Ok(GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(schema))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()?)
}

/// Creates the table (on demand, encrypted, three indexes), waits until it is active, then
/// turns on TTL and point-in-time recovery. A table that already exists is left as it is,
/// once its indexes show it is a catalog table.
pub async fn create_table(client: &Client, name: &str) -> anyhow::Result<()> {
    let attributes = [PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK]
        .into_iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .sse_specification(SseSpecification::builder().enabled(true).build())
        .set_attribute_definitions(Some(attributes))
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(index(GSI1, GSI1PK, Some(GSI1SK))?)
        .global_secondary_indexes(index(GSI2, GSI2PK, Some(GSI2SK))?)
        .global_secondary_indexes(index(GSI3, GSI3PK, None)?)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(e) => return Err(e).with_context(|| format!("creating table {name}")),
    }
    let table = client
        .wait_until_table_exists()
        .table_name(name)
        .wait(ACTIVE_WITHIN)
        .await
        .with_context(|| format!("waiting for table {name} to become active"))?
        .into_result()
        .with_context(|| format!("describing table {name}"))?
        .table
        .with_context(|| format!("describing table {name}"))?;
    for wanted in [GSI1, GSI2, GSI3] {
        if !table
            .global_secondary_indexes()
            .iter()
            .any(|i| i.index_name() == Some(wanted))
        {
            bail!("table {name} exists without index {wanted}: it is not a Ferry catalog table");
        }
    }
    enable_ttl(client, name).await?;
    enable_recovery(client, name).await
}

/// A table that has just become active may not take backups yet; DynamoDB says so and asks
/// to try again.
async fn enable_recovery(client: &Client, name: &str) -> anyhow::Result<()> {
    let spec = PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()?;
    let mut attempts = 0;
    loop {
        let result = client
            .update_continuous_backups()
            .table_name(name)
            .point_in_time_recovery_specification(spec.clone())
            .send()
            .await;
        match result {
            Ok(_) => return Ok(()),
            Err(e)
                if attempts < BACKUP_ATTEMPTS
                    && e.as_service_error()
                        .is_some_and(|e| e.is_continuous_backups_unavailable_exception()) =>
            {
                attempts += 1;
                tokio::time::sleep(BACKUP_RETRY).await;
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("enabling point-in-time recovery on {name}"));
            }
        }
    }
}

/// DynamoDB refuses to enable TTL twice, so only when it is off.
async fn enable_ttl(client: &Client, name: &str) -> anyhow::Result<()> {
    let status = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .with_context(|| format!("reading the TTL settings of {name}"))?
        .time_to_live_description
        .and_then(|d| d.time_to_live_status);
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("enabling TTL on {name}"))?;
    Ok(())
}
