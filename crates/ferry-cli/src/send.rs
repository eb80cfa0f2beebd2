//! `ferry send`: create the transfer, send every file straight to storage (parts in parallel),
//! go on where an interrupted run stopped, and with `--wait` follow validation to the end.

use crate::api::{Api, Document, NewFile, NewTransfer, Transfer, UploadPlan};
use crate::digest::{PartHasher, digest_file};
use crate::failure::Failure;
use crate::progress::{FileProgress, Progress};
use crate::resume::{FileIdentity, FileState, SendState, StateFile};
use crate::upload::{Sender, Stored};
use futures_util::StreamExt;
use std::path::PathBuf;
use std::time::Duration;

/// The API's largest file sent in one request: such a file's MD5 is declared at creation (its
/// PUT is signed with it); a larger one is hashed while its parts are sent.
const SINGLE_PUT_MAX: u64 = 16 << 20;
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

/// The MD5 of a file small enough to be sent in one request.
async fn whole_md5(
    path: &std::path::Path,
    size: u64,
    progress: &Progress,
) -> anyhow::Result<String> {
    let bar = progress.file("hashing", &file_name(path), size);
    let path = path.to_owned();
    let counter = bar.clone();
    let digest = tokio::task::spawn_blocking(move || {
        digest_file(&path, size.max(1), |n| counter.advance(n))
    })
    .await??;
    bar.finish("hashed");
    Ok(digest.md5)
}

/// Hashes the next `count` parts on the blocking pool, handing the hasher back.
async fn hash_parts(
    mut hasher: PartHasher,
    count: u32,
) -> anyhow::Result<(PartHasher, Vec<(u32, String)>)> {
    Ok(tokio::task::spawn_blocking(move || {
        let parts = hasher.next_parts(count, &mut |_| ())?;
        std::io::Result::Ok((hasher, parts))
    })
    .await??)
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
    let mut md5s = Vec::with_capacity(files.len());
    for identity in files {
        md5s.push(if identity.size <= SINGLE_PUT_MAX {
            Some(whole_md5(&identity.path, identity.size, progress).await?)
        } else {
            None
        });
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
                .zip(md5s)
                .map(|(f, md5)| NewFile {
                    name: file_name(&f.path),
                    size: f.size,
                    // The server reads the real type from the bytes.
                    content_type: "application/octet-stream".into(),
                    md5,
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
            .zip(&transfer.documents)
            .map(|(f, doc)| FileState {
                path: f.path.clone(),
                size: f.size,
                modified_ns: f.modified_ns,
                document_id: doc.id.clone(),
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

    /// Hashes the file a window of parts ahead of the upload: each window is signed and sent
    /// while the next is read, and the whole file's MD5 is known when the last part is. Parts
    /// stored by an earlier run are hashed again (their bytes count for the whole) but not sent.
    async fn upload_parts(
        &self,
        state: &mut SendState,
        index: usize,
        part_size: u64,
        part_count: u32,
        bar: &FileProgress,
    ) -> anyhow::Result<()> {
        let file = state.files[index].clone();
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
        let window = (self.parallel as u32 * 2).clamp(1, SIGN_BATCH as u32);
        let hasher = PartHasher::open(&file.path, part_size)?;
        let (mut hasher, mut ready) = hash_parts(hasher, window).await?;
        while !ready.is_empty() {
            if ready.iter().any(|(n, _)| *n > part_count) {
                break; // the file grew: refused below, before anything past the plan is sent
            }
            let missing: Vec<(u32, String)> = ready
                .into_iter()
                .filter(|(n, _)| !file.etags.contains_key(n))
                .collect();
            let (hashed, sent) = tokio::join!(
                hash_parts(hasher, window),
                self.send_parts(state, index, &missing, part_len, bar)
            );
            sent?;
            (hasher, ready) = hashed?;
        }
        if hasher.parts_read() != part_count || ready.iter().any(|(n, _)| *n > part_count) {
            anyhow::bail!(
                "{} changed or does not fit the server's plan ({part_count} parts of {part_size} \
                 bytes)",
                file.path.display()
            );
        }
        // Bytes hashed from a file that changed on the way would be refused by the server as a
        // mismatch; say what happened instead.
        let now = FileIdentity::of(&file.path)?;
        if now.size != file.size || now.modified_ns != file.modified_ns {
            return Err(Failure::Refused(format!(
                "{} changed while it was being sent; send it again once it is complete",
                file.path.display()
            ))
            .into());
        }
        let md5 = hasher.finish();
        let etags: Vec<String> = state.files[index].etags.values().cloned().collect();
        self.api
            .complete(&state.transfer_id, &file.document_id, &etags, &md5)
            .await
    }

    /// Signs `parts` and sends them, `parallel` at a time, keeping each ETag as it comes.
    async fn send_parts(
        &self,
        state: &mut SendState,
        index: usize,
        parts: &[(u32, String)],
        part_len: impl Fn(u32) -> (u64, u64),
        bar: &FileProgress,
    ) -> anyhow::Result<()> {
        if parts.is_empty() {
            return Ok(());
        }
        let path = state.files[index].path.clone();
        let signed = self
            .api
            .sign_parts(&state.transfer_id, &state.files[index].document_id, parts)
            .await?;
        let mut sends = futures_util::stream::iter(signed.into_iter().map(|part| {
            let (offset, len) = part_len(part.number);
            let path = path.clone();
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
        Ok(())
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
