//! The catalog on one DynamoDB table (single-table design; template.yaml's `Table`).
//!
//! Items, by key (`pk` / `sk`) and the index keys they carry:
//! - transfer: `TRANSFER#{id}` / `TRANSFER`; `body` (the aggregate as JSON) and `version`.
//!   gsi1 `SENDER#{user}` / `{created}#{id}` is the sender's outbox; gsi2
//!   `OPEN#{shard}` / `{expires}#{id}` is the expiry index, present only while the transfer is
//!   open (its content not yet deleted).
//! - recipient: `TRANSFER#{id}` / `RECIPIENT#{email}`; gsi2 `INBOX#{email}` /
//!   `{created}#{id}` is the recipient's inbox, gsi3 `LINK#{hash}` the current access link.
//! - audit event: `TRANSFER#{id}` / `AUDIT#{at}#{event}` (or `AUDIT#{event}` / `EVENT` for an
//!   event of no transfer); gsi1 `ACTOR#{actor}` / `{at}#{event}`, gsi2 `AUDIT#{shard}` /
//!   `{at}#{event}`.
//! - drop-folder settings: `USER#{id}` / `DROP_FOLDER`; `body` as JSON.
//!
//! Times are fixed-width UTC text, so key order is time order. Creating or saving a transfer
//! is one transaction over the transfer (conditional on its version) and the recipient items
//! whose index entries change. Every read is a GetItem, BatchGetItem or Query; nothing scans.
//! Reads of the transfer and of a transfer's audit trail are strongly consistent; reads
//! through an index (outbox, inbox, link, expiry, an actor's or the whole trail) may lag a
//! write by a moment, as DynamoDB's indexes do.
//!
//! Nothing here sets the table's TTL attribute: as in the SQLite catalog, a transfer's
//! metadata stays after its content is purged, and the audit trail outlives purges.

mod audit;
mod drop_folders;
mod items;
mod query;
mod table;
mod transfers;

pub use table::create_table;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use ferry_core::audit::{AuditEvent, AuditPage, AuditQuery};
use ferry_core::ids::{TransferId, UserId};
use ferry_core::model::{DropFolder, Transfer};
use ferry_core::ports::{Catalog, SaveError};
use ferry_core::values::EmailAddress;

pub struct DynamoCatalog {
    client: Client,
    table: String,
}

impl DynamoCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl Catalog for DynamoCatalog {
    async fn create_transfer(&self, transfer: &Transfer) -> anyhow::Result<()> {
        self.create(transfer).await
    }

    async fn get_transfer(&self, id: TransferId) -> anyhow::Result<Option<Transfer>> {
        self.get(id).await
    }

    async fn save_transfer(&self, transfer: &Transfer) -> Result<(), SaveError> {
        self.save(transfer).await
    }

    async fn list_sent(&self, sender: &UserId, limit: usize) -> anyhow::Result<Vec<Transfer>> {
        self.sent(sender, limit).await
    }

    async fn list_received(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> anyhow::Result<Vec<Transfer>> {
        self.received(email, limit).await
    }

    async fn find_link(
        &self,
        link_hash: &str,
    ) -> anyhow::Result<Option<(TransferId, EmailAddress)>> {
        self.link(link_hash).await
    }

    async fn expired_before(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<TransferId>> {
        self.expired(now, limit).await
    }

    async fn append_audit(&self, event: &AuditEvent) -> anyhow::Result<()> {
        self.append(event).await
    }

    async fn drop_folder(&self, owner: &UserId) -> anyhow::Result<Option<DropFolder>> {
        self.get_drop_folder(owner).await
    }

    async fn save_drop_folder(&self, owner: &UserId, settings: &DropFolder) -> anyhow::Result<()> {
        self.put_drop_folder(owner, settings).await
    }

    async fn query_audit(&self, query: &AuditQuery) -> anyhow::Result<AuditPage> {
        self.audit_page(query).await
    }

    async fn scrub(&self) -> anyhow::Result<()> {
        // DynamoDB rewrites an item as a whole and manages its own storage: there are no
        // freed pages of ours to clear, and a purged field is gone from the next read on.
        Ok(())
    }
}
