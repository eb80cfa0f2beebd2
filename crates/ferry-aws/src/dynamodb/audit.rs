//! The audit trail: one item per event, read newest first through whichever partition the
//! filter names: the transfer's, the actor's, or every shard of the whole trail.
//!
//! The cursor is the event time, in microseconds since the epoch, that the next page starts
//! strictly before (digits only, like the SQLite catalog's, so the API's check of it holds).
//! A page therefore never ends in the middle of the events of one microsecond: it runs on
//! past `limit` until that microsecond is done, so paging misses and repeats nothing.

use super::DynamoCatalog;
use super::items::{
    self, AUDIT_SK_PREFIX, GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SHARDS, SK,
};
use super::query::{Merged, Pages, Spec};
use anyhow::Context;
use chrono::{DateTime, Utc};
use ferry_core::audit::{AuditEvent, AuditPage, AuditQuery};

/// Below every timestamp and above every order key's characters, for open-ended ranges.
const LOWEST: &str = " ";
const HIGHEST: &str = "~";

fn parse_cursor(cursor: &str) -> anyhow::Result<DateTime<Utc>> {
    cursor
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .context("bad cursor")
}

/// One query, newest first, over a partition whose sort key is `prefix` + the event order,
/// between the bounds.
fn range_spec(
    index: Option<&'static str>,
    (pk_attr, pk): (&str, String),
    (sk_attr, prefix): (&str, &str),
    (lower, upper): (&str, &str),
) -> Spec {
    // BETWEEN is inclusive, but no order key equals a bare timestamp (each has `#id` after
    // it), so `upper` still excludes the events of its own microsecond, as wanted.
    Spec::new(index, "#pk = :pk AND #sk BETWEEN :lower AND :upper")
        .name("#pk", pk_attr)
        .name("#sk", sk_attr)
        .value(":pk", items::s(pk))
        .value(":lower", items::s(format!("{prefix}{lower}")))
        .value(":upper", items::s(format!("{prefix}{upper}")))
        .newest_first()
}

impl DynamoCatalog {
    pub(super) async fn append(&self, event: &AuditEvent) -> anyhow::Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(items::audit_item(event)?))
            .send()
            .await
            .with_context(|| format!("recording audit event {}", event.action))?;
        Ok(())
    }

    pub(super) async fn audit_page(&self, query: &AuditQuery) -> anyhow::Result<AuditPage> {
        let limit = query.limit.max(1);
        let cursor = query.cursor.as_deref().map(parse_cursor).transpose()?;
        let lower = query.since.map(items::ts);
        let lower = lower.as_deref().unwrap_or(LOWEST);
        // Both the cursor and `until` exclude what is at or after them.
        let upper = [query.until, cursor]
            .into_iter()
            .flatten()
            .min()
            .map(items::ts);
        let upper = upper.as_deref().unwrap_or(HIGHEST);
        // One more than a page, to know whether there is a next one.
        let page = limit + 1;
        let sources: Vec<Pages<'_>> = match (query.transfer_id, &query.actor) {
            (Some(tid), actor) => {
                let mut spec = range_spec(
                    None,
                    (PK, items::transfer_pk(tid)),
                    (SK, AUDIT_SK_PREFIX),
                    (lower, upper),
                );
                if let Some(actor) = actor {
                    // A transfer's trail is short; filtering it beats a second index.
                    spec = spec
                        .name("#actor", GSI1PK)
                        .value(":actor", items::s(items::actor_pk(actor)));
                    spec.filter = Some("#actor = :actor".into());
                }
                spec.consistent = true;
                vec![Pages::new(&self.client, &self.table, spec, page)]
            }
            (None, Some(actor)) => {
                let spec = range_spec(
                    Some(GSI1),
                    (GSI1PK, items::actor_pk(actor)),
                    (GSI1SK, ""),
                    (lower, upper),
                );
                vec![Pages::new(&self.client, &self.table, spec, page)]
            }
            (None, None) => (0..SHARDS)
                .map(|shard| {
                    let spec = range_spec(
                        Some(GSI2),
                        (GSI2PK, items::audit_shard_pk(shard)),
                        (GSI2SK, ""),
                        (lower, upper),
                    );
                    Pages::new(&self.client, &self.table, spec, page)
                })
                .collect(),
        };
        // Every audit item carries its order key in gsi1sk, whichever partition it is read from.
        let mut merged = Merged::new(sources, GSI1SK, true);
        let mut events: Vec<AuditEvent> = Vec::new();
        while let Some(item) = merged.next().await? {
            let event = items::decode_audit(&item)?;
            if let Some(last) = events.last()
                && events.len() >= limit
                && last.at.timestamp_micros() != event.at.timestamp_micros()
            {
                let next_cursor = Some(last.at.timestamp_micros().to_string());
                return Ok(AuditPage {
                    events,
                    next_cursor,
                });
            }
            events.push(event);
        }
        Ok(AuditPage {
            events,
            next_cursor: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_a_time_in_microseconds() {
        let at = DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        assert_eq!(
            parse_cursor(&at.timestamp_micros().to_string()).unwrap(),
            at
        );
        for bad in ["", "abc", "12x", "99999999999999999999999"] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
