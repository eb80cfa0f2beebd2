//! The ports: everything the services need from outside the process. ferry-local implements
//! them with embedded storage, ferry-aws with the AWS SDK; the services never know which.

use crate::audit::{AuditEvent, AuditPage, AuditQuery};
use crate::ids::{DeliveryId, DocumentId, TransferId, UserId};
use crate::model::{DropFolder, MachineClient, Transfer, User};
use crate::values::{ContentMd5, EmailAddress, Role};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A request the client must send as given: every header included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedPart {
    pub number: u32,
    pub etag: String,
}

/// Storage keys are chosen by the system, never by a user.
pub fn object_key(transfer: TransferId, document: DocumentId) -> String {
    format!("transfers/{transfer}/{document}")
}

pub fn text_key(transfer: TransferId, document: DocumentId) -> String {
    format!("text/{transfer}/{document}.json")
}

/// Where the upload speed test's throwaway objects go: never announced to the pipeline, dropped
/// by ferry-local's storage on arrival and expired by the bucket's lifecycle rule in AWS.
pub const SPEED_TEST_PREFIX: &str = "speedtest/";

pub fn speed_test_key() -> String {
    format!("{SPEED_TEST_PREFIX}{}", uuid::Uuid::new_v4())
}

/// `transfers/{tid}/{did}` back to its ids; anything else is not ours.
pub fn parse_object_key(key: &str) -> Option<(TransferId, DocumentId)> {
    let rest = key.strip_prefix("transfers/")?;
    let (tid, did) = rest.split_once('/')?;
    Some((TransferId::parse(tid)?, DocumentId::parse(did)?))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The client's parts do not make a valid upload (missing part, wrong ETag, too small).
    #[error("{0}")]
    InvalidParts(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn presign_put(
        &self,
        key: &str,
        md5: &ContentMd5,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<PresignedRequest>;
    /// Returns the upload id.
    async fn create_multipart(&self, key: &str) -> anyhow::Result<String>;
    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        md5: &ContentMd5,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<PresignedRequest>;
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), StoreError>;
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> anyhow::Result<()>;
    /// A short-lived GET that makes the browser save the bytes under `download_name`.
    async fn presign_get(
        &self,
        key: &str,
        download_name: &str,
        content_type: &str,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<String>;
    /// Streams the object; `None` when it does not exist.
    async fn get(&self, key: &str) -> anyhow::Result<Option<ByteStream>>;
    async fn size(&self, key: &str) -> anyhow::Result<Option<u64>>;
    /// For small system-written objects such as extracted text.
    async fn put_small(&self, key: &str, body: Bytes, content_type: &str) -> anyhow::Result<()>;
    /// Deletes every version; deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
}

/// One file in a drop folder (`inbox/{owner}/...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxEntry {
    pub key: String,
    pub size: u64,
    /// Changes whenever the file is written, even with the same bytes (S3's ETag with its
    /// last-modified time; a local file's size and modification time): the same file seen
    /// twice is one event, a file written again is a new one.
    pub version: String,
}

/// The drop folders: where scripts, SFTP and S3 clients leave files that become transfers.
/// In AWS the `inbox/` prefix of the document bucket, in ferry-local `DATA_DIR/inbox/`.
#[async_trait]
pub trait Inbox: Send + Sync {
    async fn head(&self, key: &str) -> anyhow::Result<Option<InboxEntry>>;
    /// The visible files (names not starting with `.`) directly in the folder `prefix` (which
    /// ends in `/`), not in its sub-folders, in key order; at most `limit`.
    async fn list(&self, prefix: &str, limit: usize) -> anyhow::Result<Vec<InboxEntry>>;
    /// Streams the file; `None` when it is gone.
    async fn read(&self, key: &str) -> anyhow::Result<Option<ByteStream>>;
    /// Copies the file to `object_key` of the document store, which announces it to the
    /// pipeline as an upload would (the bucket's notification, ferry-local's storage).
    async fn hand_over(&self, key: &str, object_key: &str) -> anyhow::Result<()>;
    /// Moves a file within the drop folders, replacing what is at `to`; moving a missing file
    /// is not an error.
    async fn rename(&self, from: &str, to: &str) -> anyhow::Result<()>;
    /// Writes a short text file, such as the reason a batch was refused.
    async fn write_note(&self, key: &str, text: &str) -> anyhow::Result<()>;
    /// Removing a missing file is not an error.
    async fn remove(&self, key: &str) -> anyhow::Result<()>;
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Someone saved the transfer since it was read: read again and redo the change.
    #[error("the transfer was changed concurrently")]
    Conflict,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Metadata. `save_transfer` is the one conditional write: it succeeds only over the version
/// read, and keeps the indexes (outbox, inbox, link hashes, expiry) in step with the aggregate.
#[async_trait]
pub trait Catalog: Send + Sync {
    async fn create_transfer(&self, transfer: &Transfer) -> anyhow::Result<()>;
    async fn get_transfer(&self, id: TransferId) -> anyhow::Result<Option<Transfer>>;
    /// Writes `transfer` if the stored version is still `transfer.version`, then bumps it.
    async fn save_transfer(&self, transfer: &Transfer) -> Result<(), SaveError>;
    async fn list_sent(&self, sender: &UserId, limit: usize) -> anyhow::Result<Vec<Transfer>>;
    async fn list_received(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> anyhow::Result<Vec<Transfer>>;
    /// The transfer and recipient that a link token's hash belongs to.
    async fn find_link(
        &self,
        link_hash: &str,
    ) -> anyhow::Result<Option<(TransferId, EmailAddress)>>;
    /// Unfinished transfers whose expiry has passed (for the sweep, never a request path).
    async fn expired_before(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<TransferId>>;
    async fn append_audit(&self, event: &AuditEvent) -> anyhow::Result<()>;
    /// A user's drop-folder settings; `None` until they saved some.
    async fn drop_folder(&self, owner: &UserId) -> anyhow::Result<Option<DropFolder>>;
    async fn save_drop_folder(&self, owner: &UserId, settings: &DropFolder) -> anyhow::Result<()>;
    async fn query_audit(&self, query: &AuditQuery) -> anyhow::Result<AuditPage>;
    /// Called after a purge: make sure no freed page still holds the purged metadata.
    async fn scrub(&self) -> anyhow::Result<()>;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Bytes arrived at `key` (an S3 ObjectCreated event, or ferry-local's storage endpoint).
    ObjectCreated {
        key: String,
    },
    Extract {
        transfer_id: TransferId,
        document_id: DocumentId,
    },
    NotifyRecipient {
        transfer_id: TransferId,
        email: EmailAddress,
    },
    NotifySender {
        transfer_id: TransferId,
    },
    Deliver {
        transfer_id: TransferId,
        delivery_id: DeliveryId,
    },
    /// Finishes the purge of an ended transfer if the process died in the middle of it.
    Purge {
        transfer_id: TransferId,
    },
}

#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Durable once this returns; delivered at least once, after `delay`.
    async fn enqueue(&self, job: &Job, delay: Duration) -> anyhow::Result<()>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
    /// The same key means the same message: a retried send replaces, never duplicates, where
    /// the mailer can tell (ferry-local's outbox); SES sends at least once.
    pub idempotency_key: String,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    pub email: EmailAddress,
    pub name: String,
    pub roles: Vec<Role>,
    /// ferry-local sets it; elsewhere the identity provider sends an invitation.
    pub password: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub name: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub enabled: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("no such user")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

#[async_trait]
pub trait UserDirectory: Send + Sync {
    async fn get(&self, id: &UserId) -> anyhow::Result<Option<User>>;
    async fn find_by_email(&self, email: &EmailAddress) -> anyhow::Result<Option<User>>;
    async fn list(&self) -> anyhow::Result<Vec<User>>;
    async fn create(&self, user: NewUser) -> Result<User, DirectoryError>;
    async fn update(&self, id: &UserId, patch: UserPatch) -> Result<User, DirectoryError>;
    /// Also ends the user's sessions: refresh tokens stop working.
    async fn delete(&self, id: &UserId) -> Result<(), DirectoryError>;
}

/// A new machine client and its secret, which is shown this once and stored only hashed.
#[derive(Clone, Debug)]
pub struct IssuedClient {
    pub client: MachineClient,
    pub secret: String,
}

/// The machine clients of the user directory: who may use the client-credentials grant, and
/// which user each one acts for.
#[async_trait]
pub trait MachineClients: Send + Sync {
    /// `name` is already checked (letters, digits, spaces and `._@+=,-`, at most 64).
    async fn create(&self, owner: &UserId, name: &str) -> Result<IssuedClient, DirectoryError>;
    async fn get(&self, id: &str) -> anyhow::Result<Option<MachineClient>>;
    async fn list(&self) -> anyhow::Result<Vec<MachineClient>>;
    /// Its secret stops working at once; tokens already issued run out within their lifetime.
    async fn delete(&self, id: &str) -> Result<(), DirectoryError>;
}

pub use crate::extract::ExtractedText;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extraction {
    pub engine: crate::model::Engine,
    /// `None` with engine `none` when the format cannot be read by this extractor (images and
    /// scans without Textract), or with the engine that read it and found no text.
    pub text: Option<ExtractedText>,
}

impl Extraction {
    /// No engine read the document: it is handed on without text.
    pub fn none() -> Self {
        Self {
            engine: crate::model::Engine::None,
            text: None,
        }
    }
}

#[async_trait]
pub trait TextExtractor: Send + Sync {
    async fn extract(
        &self,
        key: &str,
        detected: crate::validation::DetectedType,
        size: u64,
    ) -> anyhow::Result<Extraction>;
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The target is not allowed (not HTTPS, a private address): retrying will not help.
    #[error("{0}")]
    Refused(String),
    /// The target answered with an error or could not be reached: worth retrying.
    #[error("{0}")]
    Failed(String),
}

/// Outbound requests to a recipient's target system.
#[async_trait]
pub trait Deliverer: Send + Sync {
    /// Checks that `url` may be delivered to, without sending anything.
    async fn check_target(&self, url: &str) -> Result<(), DeliveryError>;
    async fn put(
        &self,
        url: &str,
        body: ByteStream,
        size: u64,
        md5: &ContentMd5,
    ) -> Result<(), DeliveryError>;
    /// POSTs `body` with `headers` (the signature among them); Ok on a 2xx answer.
    async fn post(
        &self,
        url: &str,
        body: Bytes,
        headers: &[(String, String)],
    ) -> Result<(), DeliveryError>;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

impl Job {
    /// A short name for logs, metrics and message attributes.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ObjectCreated { .. } => "object_created",
            Self::Extract { .. } => "extract",
            Self::NotifyRecipient { .. } => "notify_recipient",
            Self::NotifySender { .. } => "notify_sender",
            Self::Deliver { .. } => "deliver",
            Self::Purge { .. } => "purge",
        }
    }

    /// The transfer a job works on: jobs of one transfer are best run one at a time.
    pub fn transfer_id(&self) -> Option<TransferId> {
        match self {
            Self::ObjectCreated { key } => parse_object_key(key).map(|(t, _)| t),
            Self::Extract { transfer_id, .. }
            | Self::NotifyRecipient { transfer_id, .. }
            | Self::NotifySender { transfer_id }
            | Self::Deliver { transfer_id, .. }
            | Self::Purge { transfer_id } => Some(*transfer_id),
        }
    }
}
