//! The transfer and its index items, written together in one transaction, and the reads
//! through those indexes.

use super::DynamoCatalog;
use super::items::{
    self, GSI1, GSI1PK, GSI2, GSI2PK, GSI2SK, GSI3, GSI3PK, Item, PK, SHARDS, VERSION, s,
};
use super::query::{Merged, Pages, Spec};
use anyhow::{Context, anyhow};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use ferry_core::ids::{TransferId, UserId};
use ferry_core::model::Transfer;
use ferry_core::ports::SaveError;
use ferry_core::values::EmailAddress;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// DynamoDB's cap on the items of one transaction. A write holds the transfer and each
/// recipient whose index entries change: with at most `Limits::max_recipients` (50)
/// recipients that is at most 51 items.
pub(super) const MAX_TRANSACTION_ITEMS: usize = 100;

/// BatchGetItem reads at most this many keys per call.
const MAX_BATCH_GET: usize = 100;

/// How often unprocessed keys of a BatchGetItem are asked for again (throttling) before the
/// read fails.
const BATCH_GET_ATTEMPTS: u32 = 8;

/// The link hash of each recipient (the first of an address, should one appear twice).
fn links(t: &Transfer) -> BTreeMap<&str, Option<&str>> {
    let mut out = BTreeMap::new();
    for r in &t.recipients {
        out.entry(r.email.as_str())
            .or_insert(r.link_hash.as_deref());
    }
    out
}

/// The recipient items to write so the inbox and link entries match `new`: recipients that
/// are new, whose link changed, or who left with a link still indexed (their inbox entry
/// stays, as in the SQLite catalog). Diffing against the stored version keeps most saves to
/// the transfer item alone.
fn recipient_changes(old: Option<&Transfer>, new: &Transfer) -> Vec<Item> {
    let before = old.map(links).unwrap_or_default();
    let after = links(new);
    let mut changes = Vec::new();
    for (email, link) in &after {
        if before.get(email) != Some(link) {
            changes.push(items::recipient_item(new, email, *link));
        }
    }
    for (email, link) in &before {
        if link.is_some() && !after.contains_key(email) {
            changes.push(items::recipient_item(new, email, None));
        }
    }
    changes
}

/// Whether a cancelled transaction failed on its first item (the transfer): its condition
/// did not hold, or another transaction was writing it. Either way someone else changed, or
/// is changing, the transfer.
fn lost_race(error: &SdkError<TransactWriteItemsError>) -> bool {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .first()
            .and_then(|r| r.code())
            .is_some_and(|code| code == "ConditionalCheckFailed" || code == "TransactionConflict"),
        _ => false,
    }
}

impl DynamoCatalog {
    /// One transaction: the conditional put of the transfer first, then its recipients.
    fn transaction(
        &self,
        transfer: Put,
        recipients: Vec<Item>,
    ) -> anyhow::Result<Vec<TransactWriteItem>> {
        let count = 1 + recipients.len();
        if count > MAX_TRANSACTION_ITEMS {
            return Err(anyhow!(
                "a transfer change needs {count} writes, more than one transaction holds"
            ));
        }
        let mut ops = vec![TransactWriteItem::builder().put(transfer).build()];
        for item in recipients {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()?;
            ops.push(TransactWriteItem::builder().put(put).build());
        }
        Ok(ops)
    }

    async fn transact(
        &self,
        ops: Vec<TransactWriteItem>,
    ) -> Result<(), SdkError<TransactWriteItemsError>> {
        // The SDK fills in an idempotency token: a retry of a transaction that did commit
        // answers success rather than failing on its own version bump.
        self.client
            .transact_write_items()
            .set_transact_items(Some(ops))
            .send()
            .await
            .map(|_| ())
    }

    pub(super) async fn create(&self, t: &Transfer) -> anyhow::Result<()> {
        let transfer = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::transfer_item(t, 0)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()?;
        let ops = self.transaction(transfer, recipient_changes(None, t))?;
        match self.transact(ops).await {
            Ok(()) => Ok(()),
            Err(e) if lost_race(&e) => Err(anyhow!("transfer {} exists already", t.id)),
            Err(e) => Err(e).with_context(|| format!("creating transfer {}", t.id)),
        }
    }

    async fn get_item(&self, id: TransferId) -> anyhow::Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::transfer_key(id)))
            .consistent_read(true)
            .send()
            .await
            .with_context(|| format!("reading transfer {id}"))?;
        Ok(out.item)
    }

    pub(super) async fn get(&self, id: TransferId) -> anyhow::Result<Option<Transfer>> {
        self.get_item(id)
            .await?
            .map(|item| items::decode_transfer(&item))
            .transpose()
    }

    /// Reads the stored version first: a stale save is refused without a failed write, and
    /// the index changes are computed against what is stored. The write's condition on the
    /// version makes both hold at the moment of writing.
    pub(super) async fn save(&self, t: &Transfer) -> Result<(), SaveError> {
        let Some(stored) = self.get_item(t.id).await? else {
            return Err(SaveError::Conflict);
        };
        if items::version(&stored)? != t.version {
            return Err(SaveError::Conflict);
        }
        let old = items::decode_transfer(&stored)?;
        let transfer = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::transfer_item(t, t.version + 1)?))
            .condition_expression("#v = :read")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":read", AttributeValue::N(t.version.to_string()))
            .build()
            .context("building a transfer write")?;
        let ops = self.transaction(transfer, recipient_changes(Some(&old), t))?;
        match self.transact(ops).await {
            Ok(()) => Ok(()),
            Err(e) if lost_race(&e) => Err(SaveError::Conflict),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("saving transfer {}", t.id))
                .into()),
        }
    }

    /// The sender's outbox, newest first. The index holds the whole item, so no second read;
    /// like any index it may lag the table by a moment.
    pub(super) async fn sent(
        &self,
        sender: &UserId,
        limit: usize,
    ) -> anyhow::Result<Vec<Transfer>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let spec = Spec::new(Some(GSI1), "#pk = :pk")
            .name("#pk", GSI1PK)
            .value(":pk", s(items::sender_pk(sender.as_str())));
        let mut pages = Pages::new(&self.client, &self.table, spec.newest_first(), limit);
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(item) = pages.next().await? else {
                break;
            };
            out.push(items::decode_transfer(&item)?);
        }
        Ok(out)
    }

    /// The recipient's inbox entries, newest first, then their transfers read from the table.
    pub(super) async fn received(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> anyhow::Result<Vec<Transfer>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let spec = Spec::new(Some(GSI2), "#pk = :pk")
            .name("#pk", GSI2PK)
            .value(":pk", s(items::inbox_pk(email.as_str())));
        let mut pages = Pages::new(&self.client, &self.table, spec.newest_first(), limit);
        let mut ids = Vec::new();
        while ids.len() < limit {
            let Some(item) = pages.next().await? else {
                break;
            };
            ids.push(items::recipient_of(&item)?.0);
        }
        let mut found = HashMap::new();
        for chunk in ids.chunks(MAX_BATCH_GET) {
            for item in self.batch_get(chunk).await? {
                let t = items::decode_transfer(&item)?;
                found.insert(t.id, t);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Reads transfers by id, asking again for the keys DynamoDB leaves unprocessed.
    async fn batch_get(&self, ids: &[TransferId]) -> anyhow::Result<Vec<Item>> {
        let keys = ids.iter().map(|id| items::transfer_key(*id)).collect();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()?;
        let mut out = Vec::new();
        for attempt in 0..BATCH_GET_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
            let mut answer = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .context("reading a recipient's transfers")?;
            if let Some(mut responses) = answer.responses.take() {
                out.extend(responses.remove(&self.table).unwrap_or_default());
            }
            match answer
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys.is_empty())
            {
                Some(rest) => request = rest,
                None => return Ok(out),
            }
        }
        Err(anyhow!(
            "DynamoDB kept leaving a recipient's transfers unread"
        ))
    }

    /// The link's recipient item, through the link index. The index may lag a save by a
    /// moment, which is harmless: the service checks the hash against the transfer it reads.
    pub(super) async fn link(
        &self,
        link_hash: &str,
    ) -> anyhow::Result<Option<(TransferId, EmailAddress)>> {
        let spec = Spec::new(Some(GSI3), "#pk = :pk")
            .name("#pk", GSI3PK)
            .value(":pk", s(items::link_pk(link_hash)));
        let Some(item) = Pages::new(&self.client, &self.table, spec, 1)
            .next()
            .await?
        else {
            return Ok(None);
        };
        let (tid, email) = items::recipient_of(&item)?;
        Ok(EmailAddress::parse(&email).ok().map(|email| (tid, email)))
    }

    /// Open transfers whose expiry is at or before `now`, soonest expired first, from every
    /// shard of the expiry index.
    pub(super) async fn expired(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<TransferId>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Every key of an expiry at `now` is `{ts(now)}#{id}`, and '#' sorts before '$'.
        let before = format!("{}$", items::ts(now));
        let sources = (0..SHARDS)
            .map(|shard| {
                let spec = Spec::new(Some(GSI2), "#pk = :pk AND #sk < :before")
                    .name("#pk", GSI2PK)
                    .name("#sk", GSI2SK)
                    .value(":pk", s(items::open_pk(shard)))
                    .value(":before", s(before.clone()));
                Pages::new(&self.client, &self.table, spec, limit)
            })
            .collect();
        let mut merged = Merged::new(sources, GSI2SK, false);
        let mut ids = Vec::new();
        while ids.len() < limit {
            let Some(item) = merged.next().await? else {
                break;
            };
            ids.push(items::transfer_id_of(&item)?);
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::config::Limits;

    #[test]
    fn the_largest_transfer_fits_one_transaction() {
        let writes = 1 + Limits::default().max_recipients;
        assert!(writes <= MAX_TRANSACTION_ITEMS);
    }
}
