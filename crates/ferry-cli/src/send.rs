//! `ferry send`: create the transfer, send every file straight to storage (parts in parallel),
//! go on where an interrupted run stopped, and with `--wait` follow validation to the end.

use crate::api::{Api, Document, NewFile, NewTransfer, Transfer, UploadPlan};
use crate::digest::{FileDigest, digest_file};
use crate::failure::Failure;
use crate::progress::{FileProgress, Progress};
use crate::resume::{FileIdentity, FileState, SendState, StateFile};
use crate::upload::{Sender, Stored};
use futures_util::StreamExt;
use std::path::PathBuf;
use std::time::Duration;

/// The API's part size; a plan with another is honoured by hashing the parts again.
const EXPECTED_PART_SIZE: u64 = 16 << 20;
/// Parts signed per request: URLs stay valid an hour, so they are signed shortly before use.
const SIGN_BATCH: usize = 32;
const SUBJECT_MAX_CHARS: usize = 200;

pub struct SendRequest {
    pub portal_url: String,
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
    pub expires_in_hours: Option<u64>,
    pub files: Vec<PathBuf>,
    pub parallel: usize,
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

/// Without `--subject`: the files' names, as a mail client would put them.
fn default_subject(files: &[FileIdentity]) -> String {
    let names: Vec<String> = files.iter().map(|f| file_name(&f.path)).collect();
    let subject = names.join(", ");
    if subject.chars().count() <= SUBJECT_MAX_CHARS {
        subject
    } else {
        let cut: String = subject.chars().take(SUBJECT_MAX_CHARS - 1).collect();
        format!("{cut}…")
    }
}

fn identities(files: &[PathBuf]) -> anyhow::Result<Vec<FileIdentity>> {
    let mut seen = Vec::new();
    for path in files {
        let identity = FileIdentity::of(path)
            .map_err(|e| Failure::Refused(format!("{}: {e}", path.display())))?;
        if identity.size == 0 {
            return Err(Failure::Refused(format!("{}: the file is empty", path.display())).into());
        }
        if seen.iter().any(|s: &FileIdentity| s.path == identity.path) {
            return Err(Failure::Refused(format!("{}: named twice", path.display())).into());
        }
        seen.push(identity);
    }
    Ok(seen)
}

async fn digest(
    path: &std::path::Path,
    size: u64,
    part_size: u64,
    progress: &Progress,
) -> anyhow::Result<FileDigest> {
    let bar = progress.file("hashing", &file_name(path), size);
    let path = path.to_owned();
    let counter = bar.clone();
    let digest =
        tokio::task::spawn_blocking(move || digest_file(&path, part_size, |n| counter.advance(n)))
            .await??;
    bar.finish("hashed");
    Ok(digest)
}

/// The saved state of an earlier run of the same command, if it still applies: same files
/// unchanged, and a transfer that still waits for bytes.
async fn resumable(
    api: &Api,
    state_file: &StateFile,
    files: &[FileIdentity],
) -> anyhow::Result<Option<(SendState, Transfer)>> {
    let Some(state) = state_file.load() else {
        return Ok(None);
    };
    let unchanged = state.files.len() == files.len()
        && files.iter().zip(&state.files).all(|(f, s)| f.matches(s));
    if !unchanged {
        return Ok(None);
    }
    match api.transfer(&state.transfer_id).await {
        Ok(transfer) if transfer.status == "uploading" => Ok(Some((state, transfer))),
        Ok(_) => Ok(None),
        Err(e) if matches!(e.downcast_ref::<Failure>(), Some(Failure::NotFound(_))) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn start(
    api: &Api,
    request: &SendRequest,
    files: &[FileIdentity],
    progress: &Progress,
) -> anyhow::Result<(SendState, Transfer)> {
    let mut digests = Vec::with_capacity(files.len());
    for identity in files {
        digests.push(digest(&identity.path, identity.size, EXPECTED_PART_SIZE, progress).await?);
    }
    let transfer = api
        .create_transfer(&NewTransfer {
            recipients: request.recipients.clone(),
            subject: request
                .subject
                .clone()
                .unwrap_or_else(|| default_subject(files)),
            message: request.message.clone(),
            expires_in_hours: request.expires_in_hours,
            files: files
                .iter()
                .zip(&digests)
                .map(|(f, d)| NewFile {
                    name: file_name(&f.path),
                    size: f.size,
                    // The server reads the real type from the bytes.
                    content_type: "application/octet-stream".into(),
                    md5: d.md5.clone(),
                })
                .collect(),
        })
        .await?;
    if transfer.documents.len() != files.len() {
        anyhow::bail!("the server answered with another number of documents than files sent");
    }
    let state = SendState {
        transfer_id: transfer.id.clone(),
        files: files
            .iter()
            .zip(digests)
            .zip(&transfer.documents)
            .map(|((f, digest), doc)| FileState {
                path: f.path.clone(),
                size: f.size,
                modified_ns: f.modified_ns,
                document_id: doc.id.clone(),
                digest,
                etags: Default::default(),
                stored: false,
            })
            .collect(),
    };
    Ok((state, transfer))
}

struct Run<'a> {
    api: &'a Api,
    sender: &'a Sender,
    state_file: &'a StateFile,
    progress: &'a Progress,
    parallel: usize,
}

impl Run<'_> {
    async fn upload_document(
        &self,
        state: &mut SendState,
        index: usize,
        document: &Document,
    ) -> anyhow::Result<()> {
        let name = document.name.clone();
        let bar = self
            .progress
            .file("sending", &name, state.files[index].size);
        if document.status != "awaiting_upload" || state.files[index].stored {
            bar.finish("was sent before");
            return Ok(());
        }
        match document.upload.clone() {
            Some(UploadPlan::Single(request)) => {
                let file = &state.files[index];
                self.sender
                    .put(&request, &file.path, 0, file.size, &bar)
                    .await?;
            }
            Some(UploadPlan::Multipart {
                part_size,
                part_count,
            }) => {
                self.upload_parts(state, index, part_size, part_count, &bar)
                    .await?;
            }
            None => anyhow::bail!("the server gave no upload plan for {name}"),
        }
        state.files[index].stored = true;
        self.state_file.save(state)?;
        bar.finish("sent");
        Ok(())
    }

    async fn upload_parts(
        &self,
        state: &mut SendState,
        index: usize,
        part_size: u64,
        part_count: u32,
        bar: &FileProgress,
    ) -> anyhow::Result<()> {
        let transfer_id = state.transfer_id.clone();
        if state.files[index].digest.part_size != part_size {
            let file = &state.files[index];
            state.files[index].digest =
                digest(&file.path, file.size, part_size, self.progress).await?;
        }
        let file = state.files[index].clone();
        if file.digest.parts.len() != part_count as usize {
            anyhow::bail!(
                "the server's plan for {} does not fit the file",
                file.path.display()
            );
        }
        let part_len = |number: u32| {
            let start = u64::from(number - 1) * part_size;
            (start, part_size.min(file.size - start))
        };
        let done: u64 = file.etags.keys().map(|n| part_len(*n).1).sum();
        bar.advance(done);
        if !file.etags.is_empty() {
            self.progress.note(&format!(
                "{}: {} of {part_count} parts were sent before",
                file.path.display(),
                file.etags.len()
            ));
        }
        let missing: Vec<u32> = (1..=part_count)
            .filter(|n| !file.etags.contains_key(n))
            .collect();
        for batch in missing.chunks(SIGN_BATCH) {
            let wanted: Vec<(u32, String)> = batch
                .iter()
                .map(|n| (*n, file.digest.parts[*n as usize - 1].clone()))
                .collect();
            let signed = self
                .api
                .sign_parts(&transfer_id, &file.document_id, &wanted)
                .await?;
            let mut sends = futures_util::stream::iter(signed.into_iter().map(|part| {
                let (offset, len) = part_len(part.number);
                let path = file.path.clone();
                async move {
                    let stored = self
                        .sender
                        .put(&part.request, &path, offset, len, bar)
                        .await?;
                    anyhow::Ok((part.number, stored))
                }
            }))
            .buffer_unordered(self.parallel);
            while let Some(sent) = sends.next().await {
                let (number, stored) = sent?;
                let Stored::Etag(etag) = stored else {
                    anyhow::bail!("storage already holds part {number}, but its ETag was lost");
                };
                state.files[index].etags.insert(number, etag);
                self.state_file.save(state)?;
            }
        }
        let etags: Vec<String> = state.files[index].etags.values().cloned().collect();
        self.api
            .complete(&transfer_id, &file.document_id, &etags, &file.digest.md5)
            .await
    }
}

/// Sends the files; returns the transfer as it stands after the last upload.
pub async fn send(
    api: &Api,
    sender: &Sender,
    request: &SendRequest,
    progress: &Progress,
) -> anyhow::Result<Transfer> {
    let files = identities(&request.files)?;
    let state_file = StateFile::for_send(&request.portal_url, &request.recipients, &files);
    let (mut state, transfer) = match resumable(api, &state_file, &files).await? {
        Some(resumed) => {
            progress.note(&format!("resuming transfer {}", resumed.0.transfer_id));
            resumed
        }
        None => start(api, request, &files, progress).await?,
    };
    state_file.save(&state)?;
    let run = Run {
        api,
        sender,
        state_file: &state_file,
        progress,
        parallel: request.parallel.max(1),
    };
    for (index, document) in transfer.documents.iter().enumerate() {
        if state.files.get(index).map(|f| &f.document_id) != Some(&document.id) {
            anyhow::bail!("the transfer's documents do not match the files being sent");
        }
        run.upload_document(&mut state, index, document).await?;
    }
    state_file.remove();
    api.transfer(&state.transfer_id).await
}

/// Polls until every document is settled and the transfer has left `uploading`/`processing`.
pub async fn wait(api: &Api, transfer_id: &str) -> anyhow::Result<Transfer> {
    let mut pause = Duration::from_millis(250);
    loop {
        let transfer = api.transfer(transfer_id).await?;
        let settled = transfer.documents.iter().all(Document::is_settled)
            && !matches!(transfer.status.as_str(), "uploading" | "processing");
        if settled {
            return Ok(transfer);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Exit code 4 when a document was rejected or the transfer was cancelled.
pub fn verdict(transfer: &Transfer) -> anyhow::Result<()> {
    let rejected: Vec<String> = transfer
        .documents
        .iter()
        .filter(|d| d.status == "rejected")
        .map(|d| format!("{}: {}", d.name, d.reason.as_deref().unwrap_or("rejected")))
        .collect();
    if !rejected.is_empty() {
        return Err(
            Failure::Rejected(format!("rejected by the server: {}", rejected.join("; "))).into(),
        );
    }
    if transfer.status != "sent" && transfer.status != "completed" {
        return Err(Failure::Rejected(format!("the transfer is {}", transfer.status)).into());
    }
    Ok(())
}
