//! The catalog on SQLite. A transfer is one JSON document with a version; the outbox, inbox,
//! link and expiry indexes are rows kept in step inside the same transaction.

use crate::db::Db;
use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ferry_core::audit::{AuditEvent, AuditPage, AuditQuery};
use ferry_core::ids::{TransferId, UserId};
use ferry_core::model::{DropFolder, Transfer};
use ferry_core::ports::{Catalog, SaveError};
use ferry_core::values::EmailAddress;
use rusqlite::{OptionalExtension, Transaction, params};

pub struct SqliteCatalog {
    db: Db,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS transfers (
    id TEXT PRIMARY KEY,
    sender_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    open INTEGER NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_by_sender ON transfers (sender_id, created_at DESC);
CREATE INDEX IF NOT EXISTS transfers_open_by_expiry ON transfers (open, expires_at);
CREATE TABLE IF NOT EXISTS transfer_recipients (
    email TEXT NOT NULL,
    transfer_id TEXT NOT NULL REFERENCES transfers (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (email, transfer_id)
);
CREATE TABLE IF NOT EXISTS link_tokens (
    hash TEXT PRIMARY KEY,
    transfer_id TEXT NOT NULL REFERENCES transfers (id),
    email TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS link_tokens_by_transfer ON link_tokens (transfer_id);
CREATE TABLE IF NOT EXISTS audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    transfer_id TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_transfer ON audit_events (transfer_id, seq);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_events (actor, seq);
CREATE TABLE IF NOT EXISTS drop_folders (
    owner_id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
";

fn ts(at: DateTime<Utc>) -> String {
    // Fixed-width UTC so that text order is time order.
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn is_open(t: &Transfer) -> bool {
    !t.content_deleted
}

impl SqliteCatalog {
    pub fn new(db: Db) -> anyhow::Result<Self> {
        db.blocking(|c| {
            c.execute_batch(SCHEMA)
                .context("creating the catalog tables")
        })?;
        Ok(Self { db })
    }
}

fn write_indexes(tx: &Transaction<'_>, t: &Transfer) -> anyhow::Result<()> {
    let id = t.id.to_string();
    tx.execute(
        "DELETE FROM link_tokens WHERE transfer_id = ?1",
        params![id],
    )?;
    for r in &t.recipients {
        tx.execute(
            "INSERT OR IGNORE INTO transfer_recipients (email, transfer_id, created_at) VALUES (?1, ?2, ?3)",
            params![r.email.as_str(), id, ts(t.created_at)],
        )?;
        if let Some(hash) = &r.link_hash {
            tx.execute(
                "INSERT INTO link_tokens (hash, transfer_id, email) VALUES (?1, ?2, ?3)",
                params![hash, id, r.email.as_str()],
            )?;
        }
    }
    Ok(())
}

fn parse_body(body: String, version: i64) -> anyhow::Result<Transfer> {
    let mut t: Transfer = serde_json::from_str(&body).context("decoding a stored transfer")?;
    t.version = version as u64;
    Ok(t)
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn create_transfer(&self, transfer: &Transfer) -> anyhow::Result<()> {
        let t = transfer.clone();
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                tx.execute(
                    "INSERT INTO transfers (id, sender_id, created_at, expires_at, open, version, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
                    params![
                        t.id.to_string(),
                        t.sender.id.as_str(),
                        ts(t.created_at),
                        ts(t.expires_at),
                        is_open(&t),
                        serde_json::to_string(&t)?
                    ],
                )?;
                write_indexes(&tx, &t)?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    async fn get_transfer(&self, id: TransferId) -> anyhow::Result<Option<Transfer>> {
        self.db
            .call(move |c| {
                let row: Option<(String, i64)> = c
                    .query_row(
                        "SELECT body, version FROM transfers WHERE id = ?1",
                        params![id.to_string()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                row.map(|(body, version)| parse_body(body, version))
                    .transpose()
            })
            .await
    }

    async fn save_transfer(&self, transfer: &Transfer) -> Result<(), SaveError> {
        let t = transfer.clone();
        let saved = self
            .db
            .call(move |c| {
                let tx = c.transaction()?;
                let changed = tx.execute(
                    "UPDATE transfers SET body = ?1, version = version + 1, open = ?2, expires_at = ?3
                     WHERE id = ?4 AND version = ?5",
                    params![serde_json::to_string(&t)?, is_open(&t), ts(t.expires_at), t.id.to_string(), t.version as i64],
                )?;
                if changed == 0 {
                    return Ok(false);
                }
                write_indexes(&tx, &t)?;
                tx.commit()?;
                Ok(true)
            })
            .await?;
        if saved {
            Ok(())
        } else {
            Err(SaveError::Conflict)
        }
    }

    async fn list_sent(&self, sender: &UserId, limit: usize) -> anyhow::Result<Vec<Transfer>> {
        let sender = sender.as_str().to_owned();
        self.db
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT body, version FROM transfers WHERE sender_id = ?1 ORDER BY created_at DESC LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![sender, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.map(|row| {
                    let (body, version) = row?;
                    parse_body(body, version)
                })
                .collect()
            })
            .await
    }

    async fn list_received(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> anyhow::Result<Vec<Transfer>> {
        let email = email.as_str().to_owned();
        self.db
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT t.body, t.version FROM transfer_recipients r JOIN transfers t ON t.id = r.transfer_id
                     WHERE r.email = ?1 ORDER BY r.created_at DESC LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![email, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.map(|row| {
                    let (body, version) = row?;
                    parse_body(body, version)
                })
                .collect()
            })
            .await
    }

    async fn find_link(
        &self,
        link_hash: &str,
    ) -> anyhow::Result<Option<(TransferId, EmailAddress)>> {
        let hash = link_hash.to_owned();
        self.db
            .call(move |c| {
                let row: Option<(String, String)> = c
                    .query_row(
                        "SELECT transfer_id, email FROM link_tokens WHERE hash = ?1",
                        params![hash],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                Ok(row.and_then(|(tid, email)| {
                    Some((TransferId::parse(&tid)?, EmailAddress::parse(&email).ok()?))
                }))
            })
            .await
    }

    async fn expired_before(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<TransferId>> {
        self.db
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT id FROM transfers WHERE open = 1 AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![ts(now), limit as i64], |r| r.get::<_, String>(0))?;
                let mut ids = Vec::new();
                for row in rows {
                    ids.extend(TransferId::parse(&row?));
                }
                Ok(ids)
            })
            .await
    }

    async fn append_audit(&self, event: &AuditEvent) -> anyhow::Result<()> {
        let e = event.clone();
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO audit_events (at, actor, transfer_id, body) VALUES (?1, ?2, ?3, ?4)",
                    params![ts(e.at), e.actor, e.transfer_id.map(|t| t.to_string()), serde_json::to_string(&e)?],
                )?;
                Ok(())
            })
            .await
    }

    async fn drop_folder(&self, owner: &UserId) -> anyhow::Result<Option<DropFolder>> {
        let owner = owner.to_string();
        self.db
            .call(move |c| {
                let body: Option<String> = c
                    .query_row(
                        "SELECT body FROM drop_folders WHERE owner_id = ?1",
                        params![owner],
                        |row| row.get(0),
                    )
                    .optional()?;
                Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
            })
            .await
    }

    async fn save_drop_folder(&self, owner: &UserId, settings: &DropFolder) -> anyhow::Result<()> {
        let owner = owner.to_string();
        let body = serde_json::to_string(settings)?;
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO drop_folders (owner_id, body) VALUES (?1, ?2)
                     ON CONFLICT (owner_id) DO UPDATE SET body = excluded.body",
                    params![owner, body],
                )?;
                Ok(())
            })
            .await
    }

    async fn query_audit(&self, query: &AuditQuery) -> anyhow::Result<AuditPage> {
        let q = query.clone();
        self.db
            .call(move |c| {
                let before: i64 = match &q.cursor {
                    Some(cursor) => cursor.parse().context("bad cursor")?,
                    None => i64::MAX,
                };
                let limit = q.limit.max(1);
                let mut stmt = c.prepare(
                    "SELECT seq, body FROM audit_events
                     WHERE seq < ?1
                       AND (?2 IS NULL OR transfer_id = ?2)
                       AND (?3 IS NULL OR actor = ?3)
                       AND (?4 IS NULL OR at >= ?4)
                       AND (?5 IS NULL OR at < ?5)
                     ORDER BY seq DESC LIMIT ?6",
                )?;
                let rows = stmt.query_map(
                    params![
                        before,
                        q.transfer_id.map(|t| t.to_string()),
                        q.actor,
                        q.since.map(ts),
                        q.until.map(ts),
                        limit as i64 + 1
                    ],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )?;
                let mut events = Vec::new();
                let mut last_seq = None;
                for row in rows {
                    let (seq, body) = row?;
                    if events.len() == limit {
                        return Ok(AuditPage {
                            events,
                            next_cursor: last_seq.map(|s: i64| s.to_string()),
                        });
                    }
                    events.push(serde_json::from_str(&body)?);
                    last_seq = Some(seq);
                }
                Ok(AuditPage {
                    events,
                    next_cursor: None,
                })
            })
            .await
    }

    async fn scrub(&self) -> anyhow::Result<()> {
        // secure_delete zeroed the freed cells in the database file; the WAL still holds the
        // old page images until it is checkpointed and truncated.
        self.db
            .call(|c| {
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use ferry_core::audit::Outcome;
    use ferry_core::ids::DocumentId;
    use ferry_core::model::{
        Document, DocumentStatus, Party, Recipient, TransferStatus, UploadPlan,
    };
    use ferry_core::values::ContentMd5;

    fn catalog() -> (tempfile::TempDir, SqliteCatalog) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("c.db")).unwrap();
        (dir, SqliteCatalog::new(db).unwrap())
    }

    fn transfer(expires_in: Duration) -> Transfer {
        let now = Utc::now();
        Transfer {
            id: TransferId::new(),
            version: 0,
            sender: Party {
                id: UserId::parse("alice").unwrap(),
                email: EmailAddress::parse("alice@example.org").unwrap(),
            },
            recipients: vec![Recipient::pending(
                EmailAddress::parse("bob@example.com").unwrap(),
            )],
            subject: "s".into(),
            message: String::new(),
            status: TransferStatus::Uploading,
            created_at: now,
            expires_at: now + expires_in,
            documents: vec![Document {
                id: DocumentId::new(),
                name: "a.txt".into(),
                size: 1,
                content_type: "text/plain".into(),
                md5: Some(ContentMd5::from_digest([1; 16])),
                status: DocumentStatus::AwaitingUpload,
                reason: None,
                upload: UploadPlan::Single,
                detected_type: None,
                sha256: None,
                pages: None,
                text_preview: Some("SECRET-PREVIEW-TEXT".into()),
                text_truncated: false,
                engine: None,
                uploaded_at: None,
            }],
            deliveries: vec![],
            notifications_queued: false,
            sender_receipt_sent: false,
            purged_at: None,
            content_deleted: false,
        }
    }

    #[tokio::test]
    async fn saves_only_over_the_version_read() {
        let (_dir, c) = catalog();
        let t = transfer(Duration::days(1));
        c.create_transfer(&t).await.unwrap();
        let mut a = c.get_transfer(t.id).await.unwrap().unwrap();
        let mut b = a.clone();
        a.subject = "first".into();
        c.save_transfer(&a).await.unwrap();
        b.subject = "second".into();
        assert!(matches!(
            c.save_transfer(&b).await,
            Err(SaveError::Conflict)
        ));
        let stored = c.get_transfer(t.id).await.unwrap().unwrap();
        assert_eq!(stored.subject, "first");
        assert_eq!(stored.version, 1);
    }

    #[tokio::test]
    async fn indexes_follow_the_aggregate() {
        let (_dir, c) = catalog();
        let t = transfer(Duration::days(1));
        c.create_transfer(&t).await.unwrap();
        let bob = EmailAddress::parse("bob@example.com").unwrap();
        assert_eq!(c.list_received(&bob, 10).await.unwrap().len(), 1);
        assert_eq!(
            c.list_sent(&UserId::parse("alice").unwrap(), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(c.find_link("h1").await.unwrap(), None);
        let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
        t.recipients[0].link_hash = Some("h1".into());
        c.save_transfer(&t).await.unwrap();
        assert_eq!(c.find_link("h1").await.unwrap(), Some((t.id, bob.clone())));
        let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
        t.recipients[0].link_hash = None;
        c.save_transfer(&t).await.unwrap();
        assert_eq!(
            c.find_link("h1").await.unwrap(),
            None,
            "a replaced link stops working"
        );
    }

    #[tokio::test]
    async fn expiry_lists_only_open_transfers_past_their_date() {
        let (_dir, c) = catalog();
        let old = transfer(Duration::seconds(-5));
        let fresh = transfer(Duration::days(1));
        c.create_transfer(&old).await.unwrap();
        c.create_transfer(&fresh).await.unwrap();
        assert_eq!(
            c.expired_before(Utc::now(), 10).await.unwrap(),
            vec![old.id]
        );
        let mut t = c.get_transfer(old.id).await.unwrap().unwrap();
        t.content_deleted = true;
        c.save_transfer(&t).await.unwrap();
        assert!(c.expired_before(Utc::now(), 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn audit_pages_newest_first_with_filters() {
        let (_dir, c) = catalog();
        let tid = TransferId::new();
        for i in 0..7 {
            let e = AuditEvent::new(
                if i % 2 == 0 { "user:a" } else { "system" },
                &format!("step.{i}"),
                Outcome::Success,
                Utc::now(),
            );
            c.append_audit(&e.transfer(tid)).await.unwrap();
        }
        c.append_audit(&AuditEvent::new(
            "user:a",
            "other",
            Outcome::Success,
            Utc::now(),
        ))
        .await
        .unwrap();
        let first = c
            .query_audit(&AuditQuery {
                transfer_id: Some(tid),
                limit: 3,
                ..Default::default()
            })
            .await
            .unwrap();
        let actions: Vec<_> = first.events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["step.6", "step.5", "step.4"]);
        let second = c
            .query_audit(&AuditQuery {
                transfer_id: Some(tid),
                limit: 3,
                cursor: first.next_cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(second.events[0].action, "step.3");
        let by_actor = c
            .query_audit(&AuditQuery {
                actor: Some("user:a".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_actor.events.len(), 5);
        assert!(by_actor.next_cursor.is_none());
    }

    #[tokio::test]
    async fn purged_text_does_not_survive_in_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let c = SqliteCatalog::new(Db::open(&dir.path().join("c.db")).unwrap()).unwrap();
        let t = transfer(Duration::days(1));
        c.create_transfer(&t).await.unwrap();
        let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
        t.finish(TransferStatus::Completed, Utc::now());
        c.save_transfer(&t).await.unwrap();
        c.scrub().await.unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(19).any(|w| w == b"SECRET-PREVIEW-TEXT"));
        }
    }
}
