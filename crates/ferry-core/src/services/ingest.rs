//! Drop folders to transfers: a file or manifest that lands under `inbox/{owner}/` becomes a
//! transfer of its owner's, whose documents are copied into the store and then validated,
//! extracted and announced exactly like uploaded ones. The rules are in [`crate::inbox`].
//!
//! Replays are harmless: the transfer's id is derived from the event's file and version, so a
//! second run finds the transfer it created and only finishes the copying and clean-up. A batch
//! that cannot be sent is moved to `.failed/` with a reason file, and its owner is told.

use super::Ferry;
use super::transfers::{NewFile, NewTransfer, Origin};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::AuthUser;
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TransferId, UserId};
use crate::inbox::{InboxPath, MAX_MANIFEST_BYTES, Manifest, ManifestFile};
use crate::model::{DocumentStatus, DropFolder, RejectReason, Transfer, User};
use crate::ports::{InboxEntry, OutgoingMail, object_key};
use crate::values::{ContentMd5, EmailAddress, Role, clean_text};
use futures_util::StreamExt;
use md5::{Digest as _, Md5};

/// What one event asks for: these files, to these people.
struct Batch {
    /// The file whose arrival started it (the manifest, or the lone file).
    trigger: InboxPath,
    files: Vec<BatchFile>,
    request: NewTransfer,
}

struct BatchFile {
    path: InboxPath,
    entry: InboxEntry,
    md5: Option<String>,
    content_type: Option<String>,
}

/// Why a batch cannot become a transfer, in words for its owner.
struct Refusal(String);

impl Ferry {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn on_inbox_object(&self, key: &str) -> Result<()> {
        let Some(path) = InboxPath::parse(key) else {
            return Ok(());
        };
        let Some(entry) = self.ports.inbox.head(key).await? else {
            // Already handled (or taken back by whoever put it there).
            return Ok(());
        };
        let owner = match self.drop_folder_owner(path.owner()).await? {
            Ok(owner) => owner,
            Err(refusal) => return self.refuse(&path, &entry, &[], None, refusal).await,
        };
        if let Some(transfer) = self
            .ports
            .catalog
            .get_transfer(drop_folder_transfer_id(&entry))
            .await?
        {
            // A replay of an event whose first run stopped half-way: the folder may have changed
            // since, so the documents, not the folder, say which files are still to copy.
            let files = transfer
                .documents
                .iter()
                .map(|d| path.sibling(&d.name).key())
                .collect();
            return self
                .hand_over_all(&owner, &path, &entry, &transfer, files)
                .await;
        }
        let settings = self
            .ports
            .catalog
            .drop_folder(&owner.id)
            .await?
            .unwrap_or_default();
        let batch = if path.is_manifest() {
            match self.manifest_batch(&path, &entry, &settings).await? {
                Ok(batch) => batch,
                Err((files, refusal)) => {
                    return self
                        .refuse(&path, &entry, &files, Some(&owner), refusal)
                        .await;
                }
            }
        } else if path.is_top_level() && !settings.default_recipients.is_empty() {
            lone_file_batch(path.clone(), entry.clone(), &settings)
        } else {
            // It waits for the manifest that will name it.
            return Ok(());
        };
        // A looping script is limited like a looping browser.
        self.limit(
            crate::limits::Action::CreateTransfer,
            None,
            Some(owner.id.as_str()),
        )?;
        let transfer = match self
            .open_from_drop_folder(&owner, drop_folder_transfer_id(&entry), &batch)
            .await?
        {
            Ok(transfer) => transfer,
            Err(refusal) => {
                return self
                    .refuse(&path, &entry, &batch.files, Some(&owner), refusal)
                    .await;
            }
        };
        let files = batch.files.iter().map(|f| f.entry.key.clone()).collect();
        self.hand_over_all(&owner, &batch.trigger, &entry, &transfer, files)
            .await
    }

    /// The drop folder's owner by id or email: an enabled member.
    async fn drop_folder_owner(&self, name: &str) -> Result<std::result::Result<User, Refusal>> {
        let user = if name.contains('@') {
            match EmailAddress::parse(name) {
                Ok(email) => self.ports.users.find_by_email(&email).await?,
                Err(_) => None,
            }
        } else {
            match UserId::parse(name) {
                Some(id) => self.ports.users.get(&id).await?,
                None => None,
            }
        };
        Ok(match user {
            Some(user) if user.enabled && user.has_role(Role::Member) => Ok(user),
            Some(_) => Err(Refusal(format!(
                "the drop folder's owner '{name}' may not send transfers (not an enabled member)"
            ))),
            None => Err(Refusal(format!(
                "no user '{name}': a drop folder is named after its owner's id or email"
            ))),
        })
    }

    async fn manifest_batch(
        &self,
        manifest_path: &InboxPath,
        manifest_entry: &InboxEntry,
        settings: &DropFolder,
    ) -> Result<std::result::Result<Batch, (Vec<BatchFile>, Refusal)>> {
        let manifest = match self.read_manifest(manifest_path, manifest_entry).await? {
            Ok(manifest) => manifest,
            Err(refusal) => return Ok(Err((vec![], refusal))),
        };
        let folder = manifest_path.folder_prefix();
        let limit = self.settings.limits.max_files + 1;
        let listed = self.ports.inbox.list(&folder, limit + 1).await?;
        let beside: Vec<(InboxPath, InboxEntry)> = listed
            .into_iter()
            .filter_map(|entry| InboxPath::parse(&entry.key).map(|path| (path, entry)))
            .filter(|(path, _)| !path.is_manifest())
            .collect();
        let mut files = Vec::new();
        let mut missing = Vec::new();
        match &manifest.files {
            Some(named) => {
                for file in named {
                    match beside.iter().find(|(path, _)| path.name() == file.name()) {
                        Some((path, entry)) => files.push(batch_file(path, entry, Some(file))),
                        None => missing.push(file.name().to_owned()),
                    }
                }
            }
            None => files.extend(beside.iter().map(|(p, e)| batch_file(p, e, None))),
        }
        if !missing.is_empty() {
            let names = missing.join("', '");
            return Ok(Err((
                files,
                Refusal(format!(
                    "files: '{names}' named in the manifest but not in {folder}; upload the \
                     manifest last"
                )),
            )));
        }
        if files.is_empty() {
            return Ok(Err((
                files,
                Refusal(format!("no files beside the manifest in {folder}")),
            )));
        }
        let recipients = match manifest.recipients {
            Some(recipients) => recipients,
            None => settings
                .default_recipients
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
        };
        if recipients.is_empty() {
            return Ok(Err((
                files,
                Refusal(
                    "recipients: the manifest names none and the drop folder has no default \
                     recipients"
                        .into(),
                ),
            )));
        }
        let subject = manifest
            .subject
            .or_else(|| settings.subject.clone())
            .unwrap_or_else(|| default_subject(&files));
        Ok(Ok(Batch {
            trigger: manifest_path.clone(),
            request: NewTransfer {
                recipients,
                subject,
                message: manifest.message.or_else(|| settings.message.clone()),
                expires_in_hours: manifest.expires_in_hours,
                files: vec![],
            },
            files,
        }))
    }

    async fn read_manifest(
        &self,
        path: &InboxPath,
        entry: &InboxEntry,
    ) -> Result<std::result::Result<Manifest, Refusal>> {
        if entry.size > MAX_MANIFEST_BYTES {
            return Ok(Err(Refusal(format!(
                "the manifest has {} bytes, more than the {MAX_MANIFEST_BYTES} a manifest may have",
                entry.size
            ))));
        }
        let Some(mut stream) = self.ports.inbox.read(&path.key()).await? else {
            return Err(anyhow::anyhow!("the manifest vanished while it was read").into());
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.map_err(anyhow::Error::from)?);
            if bytes.len() as u64 > MAX_MANIFEST_BYTES {
                return Ok(Err(Refusal("the manifest kept growing while read".into())));
            }
        }
        Ok(Manifest::parse(&bytes).map_err(Refusal))
    }

    /// Copies each document's file into the store, then empties the batch from the folder.
    /// `files` are the documents' files, in order.
    async fn hand_over_all(
        &self,
        owner: &User,
        trigger: &InboxPath,
        trigger_entry: &InboxEntry,
        transfer: &Transfer,
        files: Vec<String>,
    ) -> Result<()> {
        for (doc, file_key) in transfer.documents.iter().zip(&files) {
            let Some(file) = self.ports.inbox.head(file_key).await? else {
                if doc.status == DocumentStatus::AwaitingUpload {
                    self.settle_vanished(transfer.id, doc.id).await?;
                }
                continue;
            };
            if doc.status == DocumentStatus::AwaitingUpload {
                self.ports
                    .inbox
                    .hand_over(file_key, &object_key(transfer.id, doc.id))
                    .await?;
            }
            self.remove_unless_rewritten(&file).await?;
        }
        self.remove_unless_rewritten(trigger_entry).await?;
        self.audit(
            AuditEvent::new(
                format!("user:{}", owner.id),
                "drop_folder.ingested",
                Outcome::Success,
                self.now(),
            )
            .transfer(transfer.id)
            .detail(format!(
                "{} file(s) from {}",
                files.len(),
                trigger.folder_prefix()
            )),
        )
        .await;
        Ok(())
    }

    /// A document's file gone from the folder was either handed over by an earlier run (the
    /// store has it, and its own event validates it) or taken away before it could be: then the
    /// document is rejected now, not left waiting until the transfer expires.
    async fn settle_vanished(&self, tid: TransferId, did: DocumentId) -> Result<()> {
        if self
            .ports
            .store
            .size(&object_key(tid, did))
            .await?
            .is_some()
        {
            return Ok(());
        }
        tracing::info!(transfer_id = %tid, document_id = %did, "drop-folder file withdrawn");
        let reason = RejectReason::Withdrawn;
        self.settle_document(tid, did, "document.rejected", reason.code(), |t| {
            t.reject_upload(did, reason, None, None)
        })
        .await
    }

    /// A file written again since it was read is a new file: its own event sends it.
    async fn remove_unless_rewritten(&self, read: &InboxEntry) -> Result<()> {
        match self.ports.inbox.head(&read.key).await? {
            Some(now) if now.version == read.version => {
                Ok(self.ports.inbox.remove(&read.key).await?)
            }
            _ => Ok(()),
        }
    }

    /// The last attempt at a drop-folder event failed: the batch is set aside and its owner told,
    /// never left waiting silently.
    pub(crate) async fn abandon_inbox_object(&self, key: &str) -> Result<()> {
        let Some(path) = InboxPath::parse(key) else {
            return Ok(());
        };
        let Some(entry) = self.ports.inbox.head(key).await? else {
            return Ok(());
        };
        let owner = self.drop_folder_owner(path.owner()).await?.ok();
        let refusal = Refusal(
            "it could not be processed, even after several attempts (a fault of the service, \
             not of the files); put it back to try again"
                .into(),
        );
        self.refuse(&path, &entry, &[], owner.as_ref(), refusal)
            .await
    }

    /// Hashes the files the manifest gave no MD5 for, then opens the transfer.
    async fn open_from_drop_folder(
        &self,
        owner: &User,
        transfer_id: TransferId,
        batch: &Batch,
    ) -> Result<std::result::Result<Transfer, Refusal>> {
        let mut files = Vec::with_capacity(batch.files.len());
        for file in &batch.files {
            let md5 = match &file.md5 {
                Some(md5) => md5.clone(),
                None => match self.md5_of(&file.entry.key).await? {
                    Some(md5) => md5.to_base64(),
                    None => {
                        return Ok(Err(Refusal(format!(
                            "'{}' was removed before it could be sent",
                            file.path.name()
                        ))));
                    }
                },
            };
            files.push(NewFile {
                name: file.path.name().to_owned(),
                size: file.entry.size,
                content_type: file.content_type.clone().unwrap_or_default(),
                md5: Some(md5),
            });
        }
        let request = NewTransfer {
            files,
            recipients: batch.request.recipients.clone(),
            subject: batch.request.subject.clone(),
            message: batch.request.message.clone(),
            expires_in_hours: batch.request.expires_in_hours,
        };
        let sender = AuthUser {
            id: owner.id.clone(),
            email: owner.email.clone(),
            name: owner.name.clone(),
            roles: owner.roles.clone(),
        };
        let origin = Origin::DropFolder {
            folder: batch.trigger.folder_prefix(),
        };
        match self
            .open_transfer(&sender, transfer_id, request, origin)
            .await
        {
            Ok(transfer) => Ok(Ok(transfer)),
            Err(Error::Invalid(detail)) => Ok(Err(Refusal(name_files(&detail, &batch.files)))),
            Err(e) => Err(e),
        }
    }

    async fn md5_of(&self, key: &str) -> Result<Option<ContentMd5>> {
        let Some(mut stream) = self.ports.inbox.read(key).await? else {
            return Ok(None);
        };
        let mut md5 = Md5::new();
        while let Some(chunk) = stream.next().await {
            md5.update(chunk.map_err(anyhow::Error::from)?);
        }
        Ok(Some(ContentMd5::from_digest(md5.finalize().into())))
    }

    /// Moves the batch to `.failed/` beside a reason file and tells the owner; the files stay
    /// theirs to fix and drop again.
    async fn refuse(
        &self,
        trigger: &InboxPath,
        trigger_entry: &InboxEntry,
        files: &[BatchFile],
        owner: Option<&User>,
        refusal: Refusal,
    ) -> Result<()> {
        let Refusal(reason) = refusal;
        tracing::info!(reason = %reason, "drop-folder batch refused");
        let reason_key = format!("{}.reason.txt", trigger.failed_key());
        self.ports
            .inbox
            .write_note(&reason_key, &format!("{reason}\n"))
            .await?;
        for file in files.iter().filter(|f| f.entry.key != trigger_entry.key) {
            self.ports
                .inbox
                .rename(&file.entry.key, &file.path.failed_key())
                .await?;
        }
        self.ports
            .inbox
            .rename(&trigger_entry.key, &trigger.failed_key())
            .await?;
        let actor = owner.map_or_else(|| "system".to_owned(), |o| format!("user:{}", o.id));
        self.audit(
            AuditEvent::new(actor, "drop_folder.refused", Outcome::Failure, self.now())
                .detail(format!("{}: {reason}", trigger.key())),
        )
        .await;
        if let Some(owner) = owner {
            let text = format!(
                "Ferry could not send what arrived in your drop folder:\n\n  {}\n\nReason: \
                 {reason}\n\nThe files were moved to {} with this reason beside them. Fix the \
                 cause and put them back in the drop folder to send them.\n",
                trigger.key(),
                trigger
                    .failed_key()
                    .rsplit_once('/')
                    .map_or("", |(dir, _)| dir),
            );
            self.ports
                .mailer
                .send(&OutgoingMail {
                    to: owner.email.clone(),
                    subject: format!(
                        "Not sent: {}",
                        clean_text(trigger.name(), 200, false).unwrap_or_default()
                    ),
                    text,
                    idempotency_key: format!(
                        "drop-folder-refused:{}:{}",
                        trigger_entry.key, trigger_entry.version
                    ),
                })
                .await?;
        }
        Ok(())
    }
}

/// The same file version gives the same transfer, however often its event comes.
fn drop_folder_transfer_id(entry: &InboxEntry) -> TransferId {
    TransferId::derived(&[entry.key.as_bytes(), entry.version.as_bytes()])
}

fn batch_file(path: &InboxPath, entry: &InboxEntry, named: Option<&ManifestFile>) -> BatchFile {
    BatchFile {
        path: path.clone(),
        entry: entry.clone(),
        md5: named.and_then(|f| f.md5().map(base64_md5)),
        content_type: named.and_then(|f| f.content_type().map(str::to_owned)),
    }
}

/// `md5sum` prints hex; the API speaks base64. Either is accepted in a manifest.
fn base64_md5(md5: &str) -> String {
    let digest = (md5.len() == 32)
        .then(|| hex::decode(md5).ok())
        .flatten()
        .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok());
    match digest {
        Some(digest) => ContentMd5::from_digest(digest).to_base64(),
        None => md5.to_owned(),
    }
}

fn lone_file_batch(path: InboxPath, entry: InboxEntry, settings: &DropFolder) -> Batch {
    let file = batch_file(&path, &entry, None);
    let subject = settings
        .subject
        .clone()
        .unwrap_or_else(|| path.name().to_owned());
    Batch {
        trigger: path,
        request: NewTransfer {
            recipients: settings
                .default_recipients
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
            subject,
            message: settings.message.clone(),
            expires_in_hours: None,
            files: vec![],
        },
        files: vec![file],
    }
}

fn default_subject(files: &[BatchFile]) -> String {
    match files {
        [one] => one.path.name().to_owned(),
        [first, rest @ ..] => format!("{} and {} more", first.path.name(), rest.len()),
        [] => String::new(),
    }
}

/// `files[2]: size: ...` from the transfer checks, with the file's name in place of its index.
fn name_files(detail: &str, files: &[BatchFile]) -> String {
    let named = detail
        .strip_prefix("files[")
        .and_then(|rest| rest.split_once("]: "))
        .and_then(|(index, rest)| {
            let file = files.get(index.parse::<usize>().ok()?)?;
            Some(format!("'{}': {rest}", file.path.name()))
        });
    named.unwrap_or_else(|| detail.to_owned())
}
