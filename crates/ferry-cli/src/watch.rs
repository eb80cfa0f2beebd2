//! `ferry watch DIR`: a drop folder. Every file that appears in DIR is sent once it has stopped
//! growing, then moved to `DIR/.sent/`, or to `DIR/.failed/` beside a `.reason.txt` saying why.
//! Files found in the same look are sent together, as one transfer. With `--once` it does this
//! for what is there and exits (for cron); otherwise it keeps looking (for a service).

use crate::api::{Api, Transfer};
use crate::failure::Failure;
use crate::progress::Progress;
use crate::send::{SendRequest, send, wait};
use crate::upload::Sender;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub const SENT: &str = ".sent";
pub const FAILED: &str = ".failed";
/// An empty file is usually one about to be written; one left empty this long never will be.
const EMPTY_FOR: Duration = Duration::from_secs(10 * 60);

pub struct WatchRequest {
    pub dir: PathBuf,
    pub portal_url: String,
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
    pub parallel: usize,
    /// How long a file must keep its size and modification time to count as complete.
    pub settle: Duration,
    pub once: bool,
}

type Snapshot = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

/// The regular, visible files directly in `dir`.
fn snapshot(dir: &Path) -> anyhow::Result<Snapshot> {
    let mut files = Snapshot::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| Failure::Refused(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            files.insert(entry.path(), (meta.len(), meta.modified().ok()));
        }
    }
    Ok(files)
}

/// Files that did not change between two looks `settle` apart, and are not empty (an empty
/// file is usually one that is about to be written).
async fn settled_files(dir: &Path, settle: Duration) -> anyhow::Result<Vec<PathBuf>> {
    let before = snapshot(dir)?;
    if before.is_empty() {
        return Ok(Vec::new());
    }
    tokio::time::sleep(settle).await;
    let after = snapshot(dir)?;
    Ok(before
        .into_iter()
        .filter(|(path, seen)| seen.0 > 0 && after.get(path) == Some(seen))
        .map(|(path, _)| path)
        .collect())
}

/// Empty files untouched for [`EMPTY_FOR`] go to `.failed/`: Ferry would reject them, and left
/// where they are nobody would notice. Returns how many.
fn set_aside_stale_empty_files(dir: &Path, progress: &Progress) -> anyhow::Result<usize> {
    let now = SystemTime::now();
    let stale: Vec<PathBuf> = snapshot(dir)?
        .into_iter()
        .filter(|(_, (size, modified))| {
            *size == 0
                && modified
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age >= EMPTY_FOR)
        })
        .map(|(path, _)| path)
        .collect();
    let reason = format!(
        "empty: the file has no bytes and did not change for {} minutes",
        EMPTY_FOR.as_secs() / 60
    );
    for file in &stale {
        let moved = move_into(file, &dir.join(FAILED), Some(&reason))?;
        progress.note(&format!("{} -> {}", file.display(), moved.display()));
    }
    Ok(stale.len())
}

/// `dir/NAME`, or `dir/NAME.1`, `.2`… when a file of that name was moved there before.
fn free_name(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    (1..)
        .map(|n| {
            let mut numbered = name.to_os_string();
            numbered.push(format!(".{n}"));
            dir.join(numbered)
        })
        .find(|candidate| !candidate.exists())
        .expect("some number is free")
}

fn move_into(file: &Path, folder: &Path, reason: Option<&str>) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(folder)?;
    let name = file.file_name().expect("a file has a name");
    let destination = free_name(folder, name);
    std::fs::rename(file, &destination)?;
    if let Some(reason) = reason {
        let mut reason_file = destination.clone().into_os_string();
        reason_file.push(".reason.txt");
        std::fs::write(reason_file, format!("{reason}\n"))?;
    }
    Ok(destination)
}

/// Moves each file after the outcome of its document (same order as sent).
fn file_away(
    dir: &Path,
    files: &[PathBuf],
    transfer: &Transfer,
    progress: &Progress,
) -> anyhow::Result<usize> {
    let mut failed = 0;
    for (file, document) in files.iter().zip(&transfer.documents) {
        let (folder, reason) = match document.status.as_str() {
            "ready" => (dir.join(SENT), None),
            status => {
                failed += 1;
                let why = document.reason.as_deref().unwrap_or(status);
                (
                    dir.join(FAILED),
                    Some(format!("rejected: {why} (transfer {})", transfer.id)),
                )
            }
        };
        let moved = move_into(file, &folder, reason.as_deref())?;
        progress.note(&format!("{} -> {}", file.display(), moved.display()));
    }
    Ok(failed)
}

async fn send_batch(
    api: &Api,
    sender: &Sender,
    request: &WatchRequest,
    files: Vec<PathBuf>,
    progress: &Progress,
) -> anyhow::Result<usize> {
    let send_request = SendRequest {
        portal_url: request.portal_url.clone(),
        recipients: request.recipients.clone(),
        subject: request.subject.clone(),
        message: request.message.clone(),
        expires_in_hours: None,
        files: files.clone(),
        parallel: request.parallel,
    };
    let transfer = match send(api, sender, &send_request, progress).await {
        Ok(transfer) => transfer,
        // The server refused the files themselves (not the network, not the credentials): they
        // would be refused again, so they are filed as failed with the server's words.
        Err(e) if matches!(e.downcast_ref::<Failure>(), Some(Failure::Refused(_))) => {
            for file in &files {
                move_into(
                    file,
                    &request.dir.join(FAILED),
                    Some(&format!("refused: {e}")),
                )?;
            }
            progress.note(&format!("refused: {e}"));
            return Ok(files.len());
        }
        Err(e) => return Err(e),
    };
    let transfer = wait(api, &transfer.id).await?;
    progress.note(&format!("transfer {} is {}", transfer.id, transfer.status));
    file_away(&request.dir, &files, &transfer, progress)
}

/// Returns how many files failed (with `--once`; otherwise it runs until stopped).
pub async fn watch(
    api: &Api,
    sender: &Sender,
    request: &WatchRequest,
    progress: &Progress,
) -> anyhow::Result<usize> {
    let mut failed = 0;
    loop {
        failed += set_aside_stale_empty_files(&request.dir, progress)?;
        let files = settled_files(&request.dir, request.settle).await?;
        if !files.is_empty() {
            match send_batch(api, sender, request, files, progress).await {
                Ok(n) => failed += n,
                // A watching service outlives a network outage: the files stay and are sent
                // (resumed) at the next look.
                Err(e) if !request.once => progress.note(&format!("will try again: {e:#}")),
                Err(e) => return Err(e),
            }
        }
        if request.once {
            return Ok(failed);
        }
        tokio::time::sleep(request.settle).await;
    }
}
