//! In-memory adapters of every port: for the services' tests and for benchmarks of the request
//! path without I/O. Not for production: nothing here is durable.

use crate::audit::{AuditEvent, AuditPage, AuditQuery};
use crate::ids::{TransferId, UserId};
use crate::model::{DropFolder, MachineClient, Transfer, User};
use crate::ports::{
    ByteStream, Catalog, Clock, CompletedPart, Deliverer, DeliveryError, DirectoryError, Inbox,
    InboxEntry, IssuedClient, Job, MachineClients, Mailer, NewUser, ObjectStore, OutgoingMail,
    PresignedRequest, SaveError, StoreError, UserDirectory, UserPatch, WorkQueue,
};
use crate::values::{ContentMd5, EmailAddress};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An open multipart upload: its object key and the parts received so far.
type OpenUpload = (String, BTreeMap<u32, Bytes>);

#[derive(Default)]
pub struct MemoryStore {
    objects: Mutex<HashMap<String, Bytes>>,
    uploads: Mutex<HashMap<String, OpenUpload>>,
}

impl MemoryStore {
    /// What a client's PUT to a presigned URL does.
    pub fn put_object(&self, key: &str, body: impl Into<Bytes>) {
        lock(&self.objects).insert(key.to_owned(), body.into());
    }

    /// What a client's part PUT does; returns the part's ETag.
    pub fn put_part(&self, upload_id: &str, number: u32, body: impl Into<Bytes>) -> String {
        let body = body.into();
        let etag = format!("\"{}\"", hex::encode(Md5::digest(&body)));
        if let Some((_, parts)) = lock(&self.uploads).get_mut(upload_id) {
            parts.insert(number, body);
        }
        etag
    }

    pub fn object(&self, key: &str) -> Option<Bytes> {
        lock(&self.objects).get(key).cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<_> = lock(&self.objects).keys().cloned().collect();
        keys.sort();
        keys
    }

    pub fn open_uploads(&self) -> usize {
        lock(&self.uploads).len()
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn presign_put(
        &self,
        key: &str,
        md5: &ContentMd5,
        _size: u64,
        _expires_at: DateTime<Utc>,
    ) -> anyhow::Result<PresignedRequest> {
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: format!("memory://{key}"),
            headers: [("Content-MD5".to_owned(), md5.to_base64())].into(),
        })
    }

    async fn create_multipart(&self, key: &str) -> anyhow::Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        lock(&self.uploads).insert(id.clone(), (key.to_owned(), BTreeMap::new()));
        Ok(id)
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        md5: &ContentMd5,
        size: u64,
        _: DateTime<Utc>,
    ) -> anyhow::Result<PresignedRequest> {
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: format!("memory://{key}?upload_id={upload_id}&part={number}&size={size}"),
            headers: [("Content-MD5".to_owned(), md5.to_base64())].into(),
        })
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), StoreError> {
        let mut uploads = lock(&self.uploads);
        let Some((upload_key, stored)) = uploads.get(upload_id) else {
            return if self.object(key).is_some() {
                Ok(())
            } else {
                Err(StoreError::InvalidParts("no such upload".into()))
            };
        };
        if upload_key != key {
            return Err(StoreError::InvalidParts(
                "the upload belongs to another object".into(),
            ));
        }
        let mut body = Vec::new();
        for part in parts {
            let data = stored.get(&part.number).ok_or_else(|| {
                StoreError::InvalidParts(format!("part {} was not uploaded", part.number))
            })?;
            let etag = hex::encode(Md5::digest(data));
            if part.etag.trim_matches('"') != etag {
                return Err(StoreError::InvalidParts(format!(
                    "part {}: the ETag does not match",
                    part.number
                )));
            }
            body.extend_from_slice(data);
        }
        uploads.remove(upload_id);
        drop(uploads);
        self.put_object(key, body);
        Ok(())
    }

    async fn abort_multipart(&self, _key: &str, upload_id: &str) -> anyhow::Result<()> {
        lock(&self.uploads).remove(upload_id);
        Ok(())
    }

    async fn presign_get(
        &self,
        key: &str,
        _name: &str,
        _type: &str,
        _: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        Ok(format!("memory://{key}?download"))
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<ByteStream>> {
        Ok(self.object(key).map(|bytes| {
            // Small chunks, so consumers are exercised across chunk boundaries.
            let chunks: Vec<std::io::Result<Bytes>> = bytes
                .chunks(64 * 1024)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            Box::pin(futures_util::stream::iter(chunks)) as ByteStream
        }))
    }

    async fn size(&self, key: &str) -> anyhow::Result<Option<u64>> {
        Ok(self.object(key).map(|b| b.len() as u64))
    }

    async fn put_small(&self, key: &str, body: Bytes, _content_type: &str) -> anyhow::Result<()> {
        self.put_object(key, body);
        Ok(())
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        lock(&self.objects).remove(key);
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryCatalog {
    transfers: Mutex<HashMap<TransferId, Transfer>>,
    audit: Mutex<Vec<AuditEvent>>,
    drop_folders: Mutex<HashMap<UserId, DropFolder>>,
}

impl MemoryCatalog {
    pub fn all_audit_actions(&self) -> Vec<String> {
        lock(&self.audit).iter().map(|e| e.action.clone()).collect()
    }

    pub fn transfer_ids(&self) -> Vec<TransferId> {
        lock(&self.transfers).keys().copied().collect()
    }

    pub fn audit_actions(&self, transfer: TransferId) -> Vec<String> {
        lock(&self.audit)
            .iter()
            .filter(|e| e.transfer_id == Some(transfer))
            .map(|e| e.action.clone())
            .collect()
    }
}

#[async_trait]
impl Catalog for MemoryCatalog {
    async fn create_transfer(&self, transfer: &Transfer) -> anyhow::Result<()> {
        let mut t = transfer.clone();
        t.version = 0;
        lock(&self.transfers).insert(t.id, t);
        Ok(())
    }

    async fn get_transfer(&self, id: TransferId) -> anyhow::Result<Option<Transfer>> {
        Ok(lock(&self.transfers).get(&id).cloned())
    }

    async fn save_transfer(&self, transfer: &Transfer) -> Result<(), SaveError> {
        let mut all = lock(&self.transfers);
        match all.get(&transfer.id) {
            Some(stored) if stored.version == transfer.version => {
                let mut t = transfer.clone();
                t.version += 1;
                all.insert(t.id, t);
                Ok(())
            }
            _ => Err(SaveError::Conflict),
        }
    }

    async fn list_sent(&self, sender: &UserId, limit: usize) -> anyhow::Result<Vec<Transfer>> {
        let mut out: Vec<_> = lock(&self.transfers)
            .values()
            .filter(|t| &t.sender.id == sender)
            .cloned()
            .collect();
        out.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        out.truncate(limit);
        Ok(out)
    }

    async fn list_received(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> anyhow::Result<Vec<Transfer>> {
        let mut out: Vec<_> = lock(&self.transfers)
            .values()
            .filter(|t| t.recipient(email).is_some())
            .cloned()
            .collect();
        out.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        out.truncate(limit);
        Ok(out)
    }

    async fn find_link(
        &self,
        link_hash: &str,
    ) -> anyhow::Result<Option<(TransferId, EmailAddress)>> {
        Ok(lock(&self.transfers).values().find_map(|t| {
            t.recipients
                .iter()
                .find(|r| r.link_hash.as_deref() == Some(link_hash))
                .map(|r| (t.id, r.email.clone()))
        }))
    }

    async fn expired_before(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<TransferId>> {
        Ok(lock(&self.transfers)
            .values()
            .filter(|t| !t.content_deleted && t.expires_at <= now)
            .map(|t| t.id)
            .take(limit)
            .collect())
    }

    async fn append_audit(&self, event: &AuditEvent) -> anyhow::Result<()> {
        lock(&self.audit).push(event.clone());
        Ok(())
    }

    async fn drop_folder(&self, owner: &UserId) -> anyhow::Result<Option<DropFolder>> {
        Ok(lock(&self.drop_folders).get(owner).cloned())
    }

    async fn save_drop_folder(&self, owner: &UserId, settings: &DropFolder) -> anyhow::Result<()> {
        lock(&self.drop_folders).insert(owner.clone(), settings.clone());
        Ok(())
    }

    async fn query_audit(&self, query: &AuditQuery) -> anyhow::Result<AuditPage> {
        let events = lock(&self.audit)
            .iter()
            .rev()
            .filter(|e| query.transfer_id.is_none() || e.transfer_id == query.transfer_id)
            .filter(|e| query.actor.as_ref().is_none_or(|a| &e.actor == a))
            .filter(|e| query.since.is_none_or(|s| e.at >= s))
            .filter(|e| query.until.is_none_or(|u| e.at < u))
            .take(query.limit.max(1))
            .cloned()
            .collect();
        Ok(AuditPage {
            events,
            next_cursor: None,
        })
    }

    async fn scrub(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Drop folders in memory; a file handed over is written to the store and announced, as the
/// bucket's notification would.
pub struct MemoryInbox {
    files: Mutex<BTreeMap<String, (Bytes, u64)>>,
    /// Every write is a new version, as in S3 (where the ETag alone would repeat).
    writes: std::sync::atomic::AtomicU64,
    /// Removals that succeed before the next ones fail, to stop a run half-way.
    removals_left: Mutex<Option<usize>>,
    store: std::sync::Arc<dyn ObjectStore>,
    queue: std::sync::Arc<dyn WorkQueue>,
}

impl MemoryInbox {
    pub fn new(
        store: std::sync::Arc<dyn ObjectStore>,
        queue: std::sync::Arc<dyn WorkQueue>,
    ) -> Self {
        Self {
            files: Mutex::default(),
            writes: Default::default(),
            removals_left: Mutex::default(),
            store,
            queue,
        }
    }

    /// What an S3 client's PUT under `inbox/` does (without the event, which tests send).
    pub fn put(&self, key: &str, body: impl Into<Bytes>) {
        let version = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        lock(&self.files).insert(key.to_owned(), (body.into(), version));
    }

    pub fn keys(&self) -> Vec<String> {
        lock(&self.files).keys().cloned().collect()
    }

    /// After `count` more removals, removing fails until this is called with `None`.
    pub fn fail_removals_after(&self, count: Option<usize>) {
        *lock(&self.removals_left) = count;
    }

    pub fn file(&self, key: &str) -> Option<Bytes> {
        lock(&self.files).get(key).map(|(b, _)| b.clone())
    }

    fn entry(key: &str, body: &Bytes, version: u64) -> InboxEntry {
        InboxEntry {
            key: key.to_owned(),
            size: body.len() as u64,
            version: version.to_string(),
        }
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn head(&self, key: &str) -> anyhow::Result<Option<InboxEntry>> {
        Ok(lock(&self.files)
            .get(key)
            .map(|(body, v)| Self::entry(key, body, *v)))
    }

    async fn list(&self, prefix: &str, limit: usize) -> anyhow::Result<Vec<InboxEntry>> {
        Ok(lock(&self.files)
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| {
                !k[prefix.len()..].contains('/') && !k[prefix.len()..].starts_with('.')
            })
            .take(limit)
            .map(|(k, (body, v))| Self::entry(k, body, *v))
            .collect())
    }

    async fn read(&self, key: &str) -> anyhow::Result<Option<ByteStream>> {
        let body = self.file(key);
        Ok(body.map(|b| Box::pin(futures_util::stream::iter([Ok(b)])) as ByteStream))
    }

    async fn hand_over(&self, key: &str, object_key: &str) -> anyhow::Result<()> {
        let body = self
            .file(key)
            .ok_or_else(|| anyhow::anyhow!("no file {key} to hand over"))?;
        self.store
            .put_small(object_key, body, "application/octet-stream")
            .await?;
        self.queue
            .enqueue(
                &Job::ObjectCreated {
                    key: object_key.to_owned(),
                },
                Duration::ZERO,
            )
            .await
    }

    async fn rename(&self, from: &str, to: &str) -> anyhow::Result<()> {
        let mut files = lock(&self.files);
        if let Some(file) = files.remove(from) {
            files.insert(to.to_owned(), file);
        }
        Ok(())
    }

    async fn write_note(&self, key: &str, text: &str) -> anyhow::Result<()> {
        self.put(key, text.to_owned());
        Ok(())
    }

    async fn remove(&self, key: &str) -> anyhow::Result<()> {
        if let Some(left) = lock(&self.removals_left).as_mut() {
            if *left == 0 {
                anyhow::bail!("removing {key} failed");
            }
            *left -= 1;
        }
        lock(&self.files).remove(key);
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryQueue {
    jobs: Mutex<VecDeque<Job>>,
}

impl MemoryQueue {
    pub fn pop(&self) -> Option<Job> {
        lock(&self.jobs).pop_front()
    }

    pub fn len(&self) -> usize {
        lock(&self.jobs).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl WorkQueue for MemoryQueue {
    async fn enqueue(&self, job: &Job, _delay: Duration) -> anyhow::Result<()> {
        lock(&self.jobs).push_back(job.clone());
        Ok(())
    }
}

/// Keeps the last message per idempotency key, as ferry-local's outbox does.
#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<OutgoingMail>>,
}

impl MemoryMailer {
    pub fn sent(&self) -> Vec<OutgoingMail> {
        lock(&self.sent).clone()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()> {
        let mut sent = lock(&self.sent);
        sent.retain(|m| m.idempotency_key != mail.idempotency_key);
        sent.push(mail.clone());
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryDirectory {
    users: Mutex<Vec<User>>,
    clients: Mutex<Vec<MachineClient>>,
}

#[async_trait]
impl MachineClients for MemoryDirectory {
    async fn create(&self, owner: &UserId, name: &str) -> Result<IssuedClient, DirectoryError> {
        if !lock(&self.users).iter().any(|u| &u.id == owner) {
            return Err(DirectoryError::NotFound);
        }
        let client = MachineClient {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.to_owned(),
            owner: owner.clone(),
            created_at: Utc::now(),
        };
        lock(&self.clients).push(client.clone());
        Ok(IssuedClient {
            client,
            secret: crate::tokens::new_link_token(),
        })
    }

    async fn get(&self, id: &str) -> anyhow::Result<Option<MachineClient>> {
        Ok(lock(&self.clients).iter().find(|c| c.id == id).cloned())
    }

    async fn list(&self) -> anyhow::Result<Vec<MachineClient>> {
        Ok(lock(&self.clients).clone())
    }

    async fn delete(&self, id: &str) -> Result<(), DirectoryError> {
        let mut clients = lock(&self.clients);
        let before = clients.len();
        clients.retain(|c| c.id != id);
        if clients.len() == before {
            Err(DirectoryError::NotFound)
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl UserDirectory for MemoryDirectory {
    async fn get(&self, id: &UserId) -> anyhow::Result<Option<User>> {
        Ok(lock(&self.users).iter().find(|u| &u.id == id).cloned())
    }

    async fn find_by_email(&self, email: &EmailAddress) -> anyhow::Result<Option<User>> {
        Ok(lock(&self.users)
            .iter()
            .find(|u| &u.email == email)
            .cloned())
    }

    async fn list(&self) -> anyhow::Result<Vec<User>> {
        Ok(lock(&self.users).clone())
    }

    async fn create(&self, user: NewUser) -> Result<User, DirectoryError> {
        let mut users = lock(&self.users);
        if users.iter().any(|u| u.email == user.email) {
            return Err(DirectoryError::EmailTaken);
        }
        let created = User {
            id: UserId::parse(&uuid::Uuid::new_v4().to_string()).expect("a uuid is a user id"),
            email: user.email,
            name: user.name,
            roles: user.roles,
            enabled: true,
        };
        users.push(created.clone());
        Ok(created)
    }

    async fn update(&self, id: &UserId, patch: UserPatch) -> Result<User, DirectoryError> {
        let mut users = lock(&self.users);
        let user = users
            .iter_mut()
            .find(|u| &u.id == id)
            .ok_or(DirectoryError::NotFound)?;
        if let Some(name) = patch.name {
            user.name = name;
        }
        if let Some(roles) = patch.roles {
            user.roles = roles;
        }
        if let Some(enabled) = patch.enabled {
            user.enabled = enabled;
        }
        Ok(user.clone())
    }

    async fn delete(&self, id: &UserId) -> Result<(), DirectoryError> {
        let mut users = lock(&self.users);
        let before = users.len();
        users.retain(|u| &u.id != id);
        if users.len() == before {
            Err(DirectoryError::NotFound)
        } else {
            Ok(())
        }
    }
}

/// Records what would have been sent; refuses URLs that do not start with `https://`.
#[derive(Default)]
pub struct MemoryDeliverer {
    pub sent: Mutex<Vec<(String, usize)>>,
}

#[async_trait]
impl Deliverer for MemoryDeliverer {
    async fn check_target(&self, url: &str) -> Result<(), DeliveryError> {
        if url.starts_with("https://") {
            Ok(())
        } else {
            Err(DeliveryError::Refused("only https URLs".into()))
        }
    }

    async fn put(
        &self,
        url: &str,
        mut body: ByteStream,
        _size: u64,
        _md5: &ContentMd5,
    ) -> Result<(), DeliveryError> {
        use futures_util::StreamExt;
        self.check_target(url).await?;
        let mut n = 0;
        while let Some(chunk) = body.next().await {
            n += chunk
                .map_err(|e| DeliveryError::Failed(e.to_string()))?
                .len();
        }
        lock(&self.sent).push((url.to_owned(), n));
        Ok(())
    }

    async fn post(
        &self,
        url: &str,
        body: Bytes,
        _headers: &[(String, String)],
    ) -> Result<(), DeliveryError> {
        self.check_target(url).await?;
        lock(&self.sent).push((url.to_owned(), body.len()));
        Ok(())
    }
}

pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }

    pub fn advance(&self, by: chrono::Duration) {
        *lock(&self.0) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

impl crate::services::Ports {
    /// Every port in memory but the object store (any will do: an in-memory one, or a real
    /// presigner for benchmarks), with native text extraction from that store.
    pub fn in_memory(
        store: std::sync::Arc<dyn ObjectStore>,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Self {
        use std::sync::Arc;
        let directory = Arc::new(MemoryDirectory::default());
        let queue = Arc::new(MemoryQueue::default());
        Self {
            store: store.clone(),
            inbox: Arc::new(MemoryInbox::new(store.clone(), queue.clone())),
            catalog: Arc::new(MemoryCatalog::default()),
            queue,
            mailer: Arc::new(MemoryMailer::default()),
            users: directory.clone(),
            clients: directory,
            extractor: Arc::new(crate::native::NativeExtractor::new(
                store,
                Default::default(),
            )),
            deliverer: Arc::new(MemoryDeliverer::default()),
            clock,
        }
    }
}
