//! Drop folders on the local disk: `DATA_DIR/inbox/{owner}/` plays the part of the bucket's
//! `inbox/` prefix. Files are plain files that any program may write; a watcher announces
//! each one once it has stopped changing, as S3 announces an object once it is complete.

use crate::storage::DiskObjectStore;
use anyhow::Context;
use async_trait::async_trait;
use ferry_core::inbox::INBOX_PREFIX;
use ferry_core::ports::{ByteStream, Inbox, InboxEntry, Job, WorkQueue};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
#[cfg(not(unix))]
use std::time::UNIX_EPOCH;
use tokio::sync::watch;
use tokio_util::io::ReaderStream;

pub struct LocalInbox {
    root: PathBuf,
    store: Arc<DiskObjectStore>,
}

impl LocalInbox {
    /// Drop folders under `root` (created if missing), handing files over to `store`.
    pub fn new(root: PathBuf, store: Arc<DiskObjectStore>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        Ok(Self { root, store })
    }

    /// The file a key names; keys come from the watcher or are built from its keys, and are
    /// checked once more so that none can leave the root.
    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        let rest = key
            .strip_prefix(INBOX_PREFIX)
            .with_context(|| format!("{key} is not in a drop folder"))?;
        let mut path = self.root.clone();
        for segment in rest.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\\') {
                anyhow::bail!("{key} is not a drop-folder path");
            }
            path.push(segment);
        }
        Ok(path)
    }

    /// Removes the folders a file leaves empty, up to its owner's drop folder (kept).
    fn remove_empty_folders(&self, file: &Path) {
        let mut dir = file.parent();
        while let Some(d) = dir.filter(|d| d.parent().is_some_and(|p| p != self.root)) {
            if !d.starts_with(&self.root) || std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

fn is_absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// What changes whenever a file is written or put in place again, even by `cp -p` or
/// `rsync -a`, which keep the modification time: its inode and status-change time.
#[cfg(unix)]
fn version(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "{}-{}-{}.{:09}",
        meta.len(),
        meta.ino(),
        meta.ctime(),
        meta.ctime_nsec()
    )
}

#[cfg(not(unix))]
fn version(meta: &std::fs::Metadata) -> String {
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    format!("{}-{}", meta.len(), modified.as_nanos())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    !b.file_type().is_symlink()
}

fn ensure_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent),
        None => Ok(()),
    }
}

#[async_trait]
impl Inbox for LocalInbox {
    async fn head(&self, key: &str) -> anyhow::Result<Option<InboxEntry>> {
        // A symbolic link is not a file of the drop folder: it could point anywhere.
        match tokio::fs::symlink_metadata(self.path(key)?).await {
            Ok(meta) if meta.is_file() => Ok(Some(InboxEntry {
                key: key.to_owned(),
                size: meta.len(),
                version: version(&meta),
            })),
            Ok(_) => Ok(None),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {key}")),
        }
    }

    async fn list(&self, prefix: &str, limit: usize) -> anyhow::Result<Vec<InboxEntry>> {
        let dir = self.path(prefix.trim_end_matches('/'))?;
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if is_absent(&e) => return Ok(vec![]),
                Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
            };
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry?;
                let meta = entry.metadata()?;
                // Names that are not UTF-8 cannot be keys; they stay where they are.
                let name = entry.file_name().to_str().map(str::to_owned);
                if let (true, Some(name)) = (meta.is_file(), name)
                    && !name.starts_with('.')
                {
                    files.push(InboxEntry {
                        key: format!("{prefix}{name}"),
                        size: meta.len(),
                        version: version(&meta),
                    });
                }
            }
            files.sort_by(|a, b| a.key.cmp(&b.key));
            files.truncate(limit);
            Ok(files)
        })
        .await?
    }

    async fn read(&self, key: &str) -> anyhow::Result<Option<ByteStream>> {
        let path = self.path(key)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("opening {key}")),
        };
        // What was opened must be the regular file at the path itself, not a link's target.
        let (opened, at_path) = (
            file.metadata().await?,
            tokio::fs::symlink_metadata(&path).await?,
        );
        if !same_file(&opened, &at_path) || !at_path.is_file() {
            anyhow::bail!("{key} is not a regular file");
        }
        Ok(Some(Box::pin(ReaderStream::with_capacity(file, 64 * 1024))))
    }

    async fn hand_over(&self, key: &str, object_key: &str) -> anyhow::Result<()> {
        let body = self
            .read(key)
            .await?
            .with_context(|| format!("{key} vanished before it was handed over"))?;
        self.store.copy_in(object_key, body).await
    }

    async fn rename(&self, from: &str, to: &str) -> anyhow::Result<()> {
        let (from_path, to_path) = (self.path(from)?, self.path(to)?);
        ensure_parent(&to_path)?;
        match tokio::fs::rename(&from_path, &to_path).await {
            Ok(()) => {
                self.remove_empty_folders(&from_path);
                Ok(())
            }
            Err(e) if is_absent(&e) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("moving {from} to {to}")),
        }
    }

    async fn write_note(&self, key: &str, text: &str) -> anyhow::Result<()> {
        let path = self.path(key)?;
        ensure_parent(&path)?;
        tokio::fs::write(&path, text)
            .await
            .with_context(|| format!("writing {key}"))
    }

    async fn remove(&self, key: &str) -> anyhow::Result<()> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                self.remove_empty_folders(&path);
                Ok(())
            }
            Err(e) if is_absent(&e) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("deleting {key}")),
        }
    }
}

/// What the watcher last saw of a file.
struct Seen {
    version: String,
    announced: bool,
}

/// Announces every visible file under `root` once it is unchanged for one `every`, until
/// `stopped`. Files there at start are announced again: the ingestion makes one transfer per
/// file version however often it hears of it.
pub async fn watch_drop_folders(
    root: PathBuf,
    queue: Arc<dyn WorkQueue>,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut seen: HashMap<String, Seen> = HashMap::new();
    loop {
        let scan_root = root.clone();
        match tokio::task::spawn_blocking(move || visible_files(&scan_root)).await {
            Ok(Ok(files)) => {
                seen.retain(|key, _| files.contains_key(key));
                for (key, version) in files {
                    let settled = seen.get(&key).is_some_and(|s| s.version == version);
                    let announced = settled && seen.get(&key).is_some_and(|s| s.announced);
                    let announce = settled && !announced;
                    if announce
                        && let Err(e) = queue
                            .enqueue(&Job::ObjectCreated { key: key.clone() }, Duration::ZERO)
                            .await
                    {
                        tracing::warn!(error = %e, "could not announce a drop-folder file");
                        continue;
                    }
                    seen.insert(
                        key,
                        Seen {
                            version,
                            announced: announced || announce,
                        },
                    );
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "could not read the drop folders"),
            Err(e) => tracing::warn!(error = %e, "the drop-folder scan failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Every visible file under `root` by key, with its version; folders
/// and files whose name starts with `.` are skipped (`.failed/`, partial uploads).
fn visible_files(root: &Path) -> anyhow::Result<HashMap<String, String>> {
    let mut files = HashMap::new();
    let mut pending = vec![(root.to_path_buf(), INBOX_PREFIX.to_owned())];
    while let Some((dir, prefix)) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if is_absent(&e) => continue,
            Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            // `DirEntry::metadata` does not follow links: a link is neither file nor folder.
            let meta = entry.metadata()?;
            let key = format!("{prefix}{name}");
            if meta.is_dir() {
                pending.push((entry.path(), format!("{key}/")));
            } else if meta.is_file() && prefix != INBOX_PREFIX {
                files.insert(key, version(&meta));
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::memory::MemoryQueue;

    /// Drop folders in `dir/inbox`, handing over to a store in `dir/objects`.
    fn inbox_in(dir: &Path) -> LocalInbox {
        let store = DiskObjectStore::new(
            dir.join("objects"),
            "http://127.0.0.1:1".into(),
            [1; 32],
            Arc::new(MemoryQueue::default()),
        )
        .unwrap();
        LocalInbox::new(dir.join("inbox"), Arc::new(store)).unwrap()
    }

    #[test]
    fn keys_cannot_leave_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = inbox_in(dir.path());
        assert!(inbox.path("inbox/u1/a b.pdf").is_ok());
        assert!(inbox.path("inbox/u1/.failed/a.pdf").is_ok());
        for key in [
            "inbox/u1/../../etc/passwd",
            "inbox/../x",
            "inbox//x",
            "transfers/a/b",
            "inbox/u1/a\\..\\b",
        ] {
            assert!(inbox.path(key).is_err(), "{key}");
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn symbolic_links_are_not_drop_folder_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("inbox");
        let inbox = inbox_in(dir.path());
        std::fs::create_dir_all(root.join("u1")).unwrap();
        std::fs::write(dir.path().join("secret.key"), b"not for sending").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.key"), root.join("u1/a.pdf")).unwrap();
        assert_eq!(inbox.head("inbox/u1/a.pdf").await.unwrap(), None);
        assert!(inbox.list("inbox/u1/", 10).await.unwrap().is_empty());
        assert!(inbox.read("inbox/u1/a.pdf").await.is_err());
        assert!(visible_files(&root).unwrap().is_empty());
    }

    #[tokio::test]
    async fn files_are_announced_once_they_stop_changing_and_hidden_ones_never() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("u1/batch")).unwrap();
        std::fs::create_dir_all(root.join("u1/.failed")).unwrap();
        std::fs::write(root.join("u1/batch/a.pdf"), b"%PDF").unwrap();
        std::fs::write(root.join("u1/.failed/b.pdf"), b"%PDF").unwrap();
        std::fs::write(root.join("u1/.c.pdf.filepart"), b"%PDF").unwrap();
        // Not in anyone's drop folder.
        std::fs::write(root.join("stray.pdf"), b"%PDF").unwrap();
        let queue = Arc::new(MemoryQueue::default());
        let (stop, stopped) = watch::channel(false);
        let watcher = tokio::spawn(watch_drop_folders(
            root.clone(),
            queue.clone(),
            Duration::from_millis(20),
            stopped,
        ));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while queue.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A few more scans: still one announcement.
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(true).unwrap();
        watcher.await.unwrap();
        assert_eq!(
            queue.pop(),
            Some(Job::ObjectCreated {
                key: "inbox/u1/batch/a.pdf".into()
            })
        );
        assert_eq!(queue.pop(), None);
    }
}
