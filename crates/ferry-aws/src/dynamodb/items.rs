//! The item layout: attribute names, key strings and how each kind of item is written and read.

use anyhow::{Context, anyhow};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use ferry_core::audit::AuditEvent;
use ferry_core::ids::TransferId;
use ferry_core::model::Transfer;
use std::collections::HashMap;
use std::fmt::Display;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) const PK: &str = "pk";
pub(super) const SK: &str = "sk";
pub(super) const GSI1PK: &str = "gsi1pk";
pub(super) const GSI1SK: &str = "gsi1sk";
pub(super) const GSI2PK: &str = "gsi2pk";
pub(super) const GSI2SK: &str = "gsi2sk";
pub(super) const GSI3PK: &str = "gsi3pk";
pub(super) const BODY: &str = "body";
pub(super) const VERSION: &str = "version";
const TRANSFER_ID: &str = "transfer_id";
const EMAIL: &str = "email";

pub(super) const GSI1: &str = "gsi1";
pub(super) const GSI2: &str = "gsi2";
pub(super) const GSI3: &str = "gsi3";

/// The open-transfer index and the all-events audit index each take one write per change of
/// their kind; spread over a few partitions, neither becomes one hot partition, and reading
/// them back costs only this many queries merged in order.
pub(super) const SHARDS: u8 = 4;

/// The sort-key prefix of audit events inside a transfer's partition.
pub(super) const AUDIT_SK_PREFIX: &str = "AUDIT#";

/// Fixed-width UTC, as in the SQLite catalog, so that text order is time order.
pub(super) fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A UUID's first hex digit is random (v4), so it spreads ids evenly over the shards.
fn shard(id: &impl Display) -> u8 {
    let first = id.to_string().bytes().next().unwrap_or(b'0');
    let digit = (first as char).to_digit(16).unwrap_or(0) as u8;
    digit % SHARDS
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn string<'a>(item: &'a Item, name: &str) -> anyhow::Result<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(anyhow!("a stored item has no string attribute {name}")),
    }
}

pub(super) fn transfer_pk(id: TransferId) -> String {
    format!("TRANSFER#{id}")
}

pub(super) fn transfer_key(id: TransferId) -> Item {
    HashMap::from([
        (PK.to_owned(), s(transfer_pk(id))),
        (SK.to_owned(), s("TRANSFER")),
    ])
}

pub(super) fn sender_pk(sender: &str) -> String {
    format!("SENDER#{sender}")
}

pub(super) fn open_pk(shard: u8) -> String {
    format!("OPEN#{shard}")
}

pub(super) fn inbox_pk(email: &str) -> String {
    format!("INBOX#{email}")
}

pub(super) fn link_pk(hash: &str) -> String {
    format!("LINK#{hash}")
}

pub(super) fn actor_pk(actor: &str) -> String {
    format!("ACTOR#{actor}")
}

pub(super) fn audit_shard_pk(shard: u8) -> String {
    format!("AUDIT#{shard}")
}

/// The transfer: the aggregate as JSON, its version, and the outbox and expiry index keys.
/// Only an open transfer carries the expiry keys, so the sweep's index holds nothing else.
pub(super) fn transfer_item(t: &Transfer, version: u64) -> anyhow::Result<Item> {
    let body = serde_json::to_string(t).context("encoding a transfer")?;
    let mut item = transfer_key(t.id);
    item.extend([
        (BODY.to_owned(), s(body)),
        (VERSION.to_owned(), AttributeValue::N(version.to_string())),
        (GSI1PK.to_owned(), s(sender_pk(t.sender.id.as_str()))),
        (
            GSI1SK.to_owned(),
            s(format!("{}#{}", ts(t.created_at), t.id)),
        ),
    ]);
    if !t.content_deleted {
        item.insert(GSI2PK.to_owned(), s(open_pk(shard(&t.id))));
        item.insert(
            GSI2SK.to_owned(),
            s(format!("{}#{}", ts(t.expires_at), t.id)),
        );
    }
    Ok(item)
}

pub(super) fn version(item: &Item) -> anyhow::Result<u64> {
    match item.get(VERSION) {
        Some(AttributeValue::N(n)) => n.parse().context("a stored transfer's version"),
        _ => Err(anyhow!("a stored transfer has no version")),
    }
}

/// The `version` attribute is the truth; the one inside the JSON is whatever was written.
pub(super) fn decode_transfer(item: &Item) -> anyhow::Result<Transfer> {
    let mut t: Transfer =
        serde_json::from_str(string(item, BODY)?).context("decoding a stored transfer")?;
    t.version = version(item)?;
    Ok(t)
}

/// The transfer id of a transfer or recipient item.
pub(super) fn transfer_id_of(item: &Item) -> anyhow::Result<TransferId> {
    let pk = string(item, PK)?;
    pk.strip_prefix("TRANSFER#")
        .and_then(TransferId::parse)
        .ok_or_else(|| anyhow!("a stored item's key is not a transfer's"))
}

/// One recipient of one transfer: an entry in the recipient's inbox and, while the recipient
/// has a link, the link's entry. Kept after the recipient's link is cleared, as the inbox is.
pub(super) fn recipient_item(t: &Transfer, email: &str, link_hash: Option<&str>) -> Item {
    let mut item = HashMap::from([
        (PK.to_owned(), s(transfer_pk(t.id))),
        (SK.to_owned(), s(format!("RECIPIENT#{email}"))),
        (TRANSFER_ID.to_owned(), s(t.id.to_string())),
        (EMAIL.to_owned(), s(email)),
        (GSI2PK.to_owned(), s(inbox_pk(email))),
        (
            GSI2SK.to_owned(),
            s(format!("{}#{}", ts(t.created_at), t.id)),
        ),
    ]);
    if let Some(hash) = link_hash {
        item.insert(GSI3PK.to_owned(), s(link_pk(hash)));
    }
    item
}

pub(super) fn recipient_of(item: &Item) -> anyhow::Result<(TransferId, String)> {
    let tid = TransferId::parse(string(item, TRANSFER_ID)?)
        .ok_or_else(|| anyhow!("a stored recipient has a malformed transfer id"))?;
    Ok((tid, string(item, EMAIL)?.to_owned()))
}

/// The order of audit events: time, then id, so that no two events tie.
pub(super) fn audit_order(e: &AuditEvent) -> String {
    format!("{}#{}", ts(e.at), e.id)
}

/// An audit event lives in its transfer's partition, where the transfer's trail is one
/// strongly consistent query; an event of no transfer gets a partition of its own, since it
/// is only ever read through the indexes. gsi1 holds the actor's trail, gsi2 the shards of
/// the whole trail. Every index sorts on [`audit_order`].
pub(super) fn audit_item(e: &AuditEvent) -> anyhow::Result<Item> {
    let body = serde_json::to_string(e).context("encoding an audit event")?;
    let order = audit_order(e);
    let (pk, sk) = match e.transfer_id {
        Some(tid) => (transfer_pk(tid), format!("{AUDIT_SK_PREFIX}{order}")),
        None => (format!("AUDIT#{}", e.id), "EVENT".to_owned()),
    };
    Ok(HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(sk)),
        (BODY.to_owned(), s(body)),
        (GSI1PK.to_owned(), s(actor_pk(&e.actor))),
        (GSI1SK.to_owned(), s(order.clone())),
        (GSI2PK.to_owned(), s(audit_shard_pk(shard(&e.id)))),
        (GSI2SK.to_owned(), s(order)),
    ]))
}

pub(super) fn decode_audit(item: &Item) -> anyhow::Result<AuditEvent> {
    serde_json::from_str(string(item, BODY)?).context("decoding a stored audit event")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::ids::AuditId;

    #[test]
    fn ids_spread_over_every_shard() {
        let mut seen = [false; SHARDS as usize];
        for _ in 0..200 {
            seen[shard(&AuditId::new()) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn timestamps_sort_as_text_in_time_order() {
        let a = DateTime::from_timestamp(1_700_000_000, 999_000).unwrap();
        let b = DateTime::from_timestamp(1_700_000_001, 0).unwrap();
        assert!(ts(a) < ts(b));
        assert_eq!(ts(a).len(), ts(b).len());
    }
}
