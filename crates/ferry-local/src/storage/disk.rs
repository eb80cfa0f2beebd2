//! The store's files. Objects live at `root/{key}`; multipart uploads are staged in
//! `root/.uploads/{upload_id}/` (`meta.json` and `part-{n}`); every write is first made in
//! `root/.tmp/`, synced, then renamed into place, so a reader never sees half a file and a
//! crash leaves at most a temporary file, which the next start removes.

use super::keys::{ObjectKey, UploadId};
use anyhow::Context;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tokio::io::AsyncWriteExt;

/// Large enough that writing a big body costs few system calls.
const WRITE_BUFFER: usize = 256 * 1024;

const TMP_DIR: &str = ".tmp";
const UPLOADS_DIR: &str = ".uploads";
const META_FILE: &str = "meta.json";

/// What `create_multipart` records about an upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct UploadMeta {
    pub key: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A staged upload as a directory listing finds it.
pub(super) struct StagedUpload {
    pub id: UploadId,
    /// `None` when the meta file is missing or unreadable (a crash while creating it).
    pub meta: Option<UploadMeta>,
    pub modified: SystemTime,
}

/// A file in `.tmp`, removed when dropped unless it was put in place: an upload that fails or
/// whose client goes away leaves nothing behind.
pub(super) struct TempFile {
    path: PathBuf,
    kept: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A request body written to a temporary file.
pub(super) struct Received {
    pub temp: TempFile,
    pub md5: [u8; 16],
    pub len: u64,
}

pub(super) enum ReceiveError {
    /// The body went on past the limit; what was read is discarded.
    TooLong,
    /// The client's body could not be read (the connection broke).
    Body,
    Io(anyhow::Error),
}

pub(super) enum ConcatError {
    MissingPart(u32),
    EtagMismatch(u32),
    Io(anyhow::Error),
}

impl From<anyhow::Error> for ConcatError {
    fn from(e: anyhow::Error) -> Self {
        Self::Io(e)
    }
}

#[derive(Clone, Debug)]
pub(super) struct Disk {
    root: PathBuf,
    tmp: PathBuf,
    uploads: PathBuf,
}

impl Disk {
    /// Creates the layout under `root` and removes what interrupted writes left in `.tmp`.
    pub(super) fn open(root: PathBuf) -> anyhow::Result<Self> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&root)
            .with_context(|| format!("creating {}", root.display()))?;
        let disk = Self {
            tmp: root.join(TMP_DIR),
            uploads: root.join(UPLOADS_DIR),
            root,
        };
        for dir in [&disk.tmp, &disk.uploads] {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        for entry in
            fs::read_dir(&disk.tmp).with_context(|| format!("reading {}", disk.tmp.display()))?
        {
            let path = entry?.path();
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed
                .with_context(|| format!("removing the stale temporary file {}", path.display()))?;
        }
        Ok(disk)
    }

    fn object_path(&self, key: &ObjectKey) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(key.segments());
        path
    }

    fn upload_dir(&self, id: &UploadId) -> PathBuf {
        self.uploads.join(id.as_str())
    }

    fn part_path(&self, id: &UploadId, number: u32) -> PathBuf {
        self.upload_dir(id).join(format!("part-{number}"))
    }

    fn new_temp(&self) -> io::Result<(TempFile, File)> {
        let path = self.tmp.join(uuid::Uuid::new_v4().simple().to_string());
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        Ok((TempFile { path, kept: false }, file))
    }

    /// Streams `body` into a temporary file after `header` (neither hashed nor counted),
    /// hashing it on the way, in constant memory.
    pub(super) async fn receive<S, E>(
        &self,
        body: S,
        limit: u64,
        header: &[u8],
    ) -> Result<Received, ReceiveError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let io =
            |e: io::Error| ReceiveError::Io(anyhow::Error::new(e).context("writing an upload"));
        let disk = self.clone();
        let (temp, file) = blocking(move || disk.new_temp())
            .await
            .map_err(ReceiveError::Io)?
            .map_err(io)?;
        let mut out =
            tokio::io::BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file));
        out.write_all(header).await.map_err(io)?;
        let mut md5 = Md5::new();
        let mut len = 0u64;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::debug!(error = %e, "an upload's body could not be read");
                ReceiveError::Body
            })?;
            len += chunk.len() as u64;
            if len > limit {
                return Err(ReceiveError::TooLong);
            }
            md5.update(&chunk);
            out.write_all(&chunk).await.map_err(io)?;
        }
        out.flush().await.map_err(io)?;
        out.into_inner().sync_all().await.map_err(io)?;
        Ok(Received {
            temp,
            md5: md5.finalize().into(),
            len,
        })
    }

    /// Puts a synced temporary file at `key`, replacing what was there in one step.
    pub(super) async fn place_object(&self, temp: TempFile, key: &ObjectKey) -> anyhow::Result<()> {
        let dest = self.object_path(key);
        blocking(move || place(temp, &dest).with_context(|| format!("storing {}", dest.display())))
            .await?
    }

    /// Like [`Self::place_object`], but never replaces an object: `false` when one is there.
    pub(super) async fn place_new_object(
        &self,
        temp: TempFile,
        key: &ObjectKey,
    ) -> anyhow::Result<bool> {
        let dest = self.object_path(key);
        blocking(move || {
            place_new(temp, &dest).with_context(|| format!("storing {}", dest.display()))
        })
        .await?
    }

    pub(super) async fn object_exists(&self, key: &ObjectKey) -> anyhow::Result<bool> {
        let path = self.object_path(key);
        Ok(tokio::fs::try_exists(&path).await?)
    }

    /// Puts a received part in its upload; `false` when the upload no longer exists.
    pub(super) async fn place_part(
        &self,
        temp: TempFile,
        id: &UploadId,
        number: u32,
    ) -> anyhow::Result<bool> {
        let dest = self.part_path(id, number);
        blocking(move || {
            // Never creates the upload's directory: an aborted upload stays aborted.
            match fs::rename(&temp.path, &dest) {
                Ok(()) => {
                    let mut temp = temp;
                    temp.kept = true;
                    sync_parent(&dest);
                    Ok(true)
                }
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e).with_context(|| format!("storing {}", dest.display())),
            }
        })
        .await?
    }

    /// Writes a small object in one go (still through `.tmp`, so the write is atomic).
    pub(super) async fn write_object(&self, key: &ObjectKey, body: Bytes) -> anyhow::Result<()> {
        let disk = self.clone();
        let dest = self.object_path(key);
        blocking(move || {
            let (temp, mut file) = disk.new_temp()?;
            file.write_all(&body)?;
            file.sync_all()?;
            drop(file);
            place(temp, &dest)
        })
        .await?
        .with_context(|| format!("writing {key}"))
    }

    /// The object's file, opened, and its length; `None` when there is no such object.
    pub(super) async fn open_object(
        &self,
        key: &ObjectKey,
    ) -> anyhow::Result<Option<(tokio::fs::File, u64)>> {
        let path = self.object_path(key);
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("opening {key}")),
        };
        let meta = file
            .metadata()
            .await
            .with_context(|| format!("reading the size of {key}"))?;
        Ok(meta.is_file().then_some((file, meta.len())))
    }

    pub(super) async fn object_len(&self, key: &ObjectKey) -> anyhow::Result<Option<u64>> {
        match tokio::fs::metadata(self.object_path(key)).await {
            Ok(meta) => Ok(meta.is_file().then_some(meta.len())),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading the size of {key}")),
        }
    }

    /// Removes the object, then the directories it leaves empty; a missing object is fine.
    pub(super) async fn remove_object(&self, key: &ObjectKey) -> anyhow::Result<()> {
        let path = self.object_path(key);
        let root = self.root.clone();
        blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => sync_parent(&path),
                Err(e) if is_absent(&e) => {}
                Err(e) => return Err(e).with_context(|| format!("deleting {}", path.display())),
            }
            // Empty directories named after transfers would outlive their purge.
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| *d != root && d.starts_with(&root)) {
                if fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
            Ok(())
        })
        .await?
    }

    /// Records a new multipart upload for `key` and returns its id.
    pub(super) async fn create_upload(
        &self,
        key: &ObjectKey,
        now: i64,
    ) -> anyhow::Result<UploadId> {
        let disk = self.clone();
        let meta = serde_json::to_vec(&UploadMeta {
            key: key.to_string(),
            created_at: now,
        })?;
        blocking(move || {
            let id = UploadId::generate();
            let (temp, mut file) = disk.new_temp()?;
            file.write_all(&meta)?;
            file.sync_all()?;
            drop(file);
            let dir = disk.upload_dir(&id);
            fs::create_dir(&dir)?;
            place(temp, &dir.join(META_FILE))?;
            Ok::<_, io::Error>(id)
        })
        .await?
        .with_context(|| format!("creating a multipart upload for {key}"))
    }

    /// The upload's record; `None` when it was completed, aborted or never existed.
    pub(super) async fn upload(&self, id: &UploadId) -> anyhow::Result<Option<UploadMeta>> {
        let path = self.upload_dir(id).join(META_FILE);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("reading {}", path.display()))?,
            )),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Removes an upload and its parts; a missing upload is fine.
    pub(super) async fn remove_upload(&self, id: &UploadId) -> anyhow::Result<()> {
        let dir = self.upload_dir(id);
        blocking(move || {
            // A part being stored at the same moment can make one attempt find the directory
            // not empty; the next attempt removes that part too.
            let mut attempts = 0;
            loop {
                match fs::remove_dir_all(&dir) {
                    Ok(()) => return Ok(()),
                    Err(e) if is_absent(&e) => return Ok(()),
                    Err(_) if attempts < 3 => attempts += 1,
                    Err(e) => return Err(e).with_context(|| format!("removing {}", dir.display())),
                }
            }
        })
        .await?
    }

    /// Every staged upload, for the cleanup of abandoned ones.
    pub(super) async fn staged_uploads(&self) -> anyhow::Result<Vec<StagedUpload>> {
        let uploads = self.uploads.clone();
        blocking(move || {
            let mut found = Vec::new();
            let entries =
                fs::read_dir(&uploads).with_context(|| format!("reading {}", uploads.display()))?;
            for entry in entries {
                let entry = entry?;
                let Some(id) = entry.file_name().to_str().and_then(UploadId::parse) else {
                    continue;
                };
                let Ok(info) = entry.metadata() else { continue };
                if !info.is_dir() {
                    continue;
                }
                let meta = fs::read(entry.path().join(META_FILE))
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok());
                let modified = info.modified().unwrap_or_else(|_| SystemTime::now());
                found.push(StagedUpload { id, meta, modified });
            }
            Ok(found)
        })
        .await?
    }

    /// Joins the parts, in the order given, into a synced temporary file, checking each part's
    /// MD5 against the ETag the client reports for it.
    pub(super) async fn concatenate(
        &self,
        id: &UploadId,
        parts: Vec<(u32, String)>,
    ) -> Result<TempFile, ConcatError> {
        let disk = self.clone();
        let id = id.clone();
        blocking(move || {
            // Fail fast on a missing part, before copying gigabytes.
            for (number, _) in &parts {
                if !disk.part_path(&id, *number).is_file() {
                    return Err(ConcatError::MissingPart(*number));
                }
            }
            let write =
                |e: io::Error| ConcatError::Io(anyhow::Error::new(e).context("joining the parts"));
            let (temp, mut out) = disk.new_temp().map_err(write)?;
            for (number, etag) in &parts {
                let mut part = match File::open(disk.part_path(&id, *number)) {
                    Ok(part) => part,
                    Err(e) if is_absent(&e) => return Err(ConcatError::MissingPart(*number)),
                    Err(e) => return Err(write(e)),
                };
                let header = read_part_header(&mut part).map_err(write)?;
                if !header.is_some_and(|md5| etag_matches(etag, &md5)) {
                    // No header, or one that does not match: perhaps a part stored whole by an
                    // older version (whose data may even start like a header).
                    part.seek(SeekFrom::Start(0)).map_err(write)?;
                    if !etag_matches(etag, &legacy_part_md5(&mut part).map_err(write)?) {
                        return Err(ConcatError::EtagMismatch(*number));
                    }
                }
                // File to file: the kernel copies (copy_file_range), the bytes never pass
                // through this process.
                io::copy(&mut part, &mut out).map_err(write)?;
            }
            out.sync_all().map_err(write)?;
            Ok(temp)
        })
        .await?
    }
}

/// Starts every stored part: a magic number and the part's MD5 (its ETag), so that completing
/// an upload needs not read a part twice.
const PART_MAGIC: &[u8; 8] = b"FERRYPT1";
const PART_HEADER_LEN: u64 = 24;

/// The header of a part whose MD5 is `md5`.
pub(super) fn part_header(md5: &[u8; 16]) -> [u8; PART_HEADER_LEN as usize] {
    let mut header = [0; PART_HEADER_LEN as usize];
    header[..8].copy_from_slice(PART_MAGIC);
    header[8..].copy_from_slice(md5);
    header
}

/// The MD5 in a part's header, leaving the file at the part's first byte; `None` for a part
/// stored without one.
fn read_part_header(part: &mut File) -> io::Result<Option<[u8; 16]>> {
    let mut header = [0; PART_HEADER_LEN as usize];
    match part.read_exact(&mut header) {
        Ok(()) if header.starts_with(PART_MAGIC) => {
            Ok(Some(header[8..].try_into().unwrap_or_default()))
        }
        Ok(()) => Ok(None),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// A part stored before parts had headers (an upload begun by an older ferry-local): hashed
/// whole, then rewound.
fn legacy_part_md5(part: &mut File) -> io::Result<[u8; 16]> {
    let mut md5 = Md5::new();
    io::copy(part, &mut md5)?;
    part.seek(SeekFrom::Start(0))?;
    Ok(md5.finalize().into())
}

/// An ETag as S3 writes it (`"hex"`) or without its quotes, in either case.
pub(super) fn etag_matches(etag: &str, md5: &[u8]) -> bool {
    let etag = etag.trim();
    let etag = etag
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(etag);
    etag.eq_ignore_ascii_case(&hex::encode(md5))
}

/// Renames a synced temporary file to `dest`, creating its directories. A delete that prunes
/// an emptied directory at the same moment can remove one just created, so that is retried.
fn place(mut temp: TempFile, dest: &Path) -> io::Result<()> {
    let parent = dest
        .parent()
        .ok_or_else(|| io::Error::other("a destination has a parent"))?;
    let mut attempts = 0;
    loop {
        fs::create_dir_all(parent)?;
        match fs::rename(&temp.path, dest) {
            Ok(()) => break,
            Err(e) if e.kind() == ErrorKind::NotFound && attempts < 3 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
    temp.kept = true;
    sync_parent(dest);
    Ok(())
}

/// A hard link is an atomic create-if-absent: the first upload wins, a second never replaces
/// bytes that were already validated. The temporary name goes when `temp` drops.
fn place_new(temp: TempFile, dest: &Path) -> io::Result<bool> {
    let parent = dest
        .parent()
        .ok_or_else(|| io::Error::other("a destination has a parent"))?;
    let mut attempts = 0;
    loop {
        fs::create_dir_all(parent)?;
        match fs::hard_link(&temp.path, dest) {
            Ok(()) => break,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(false),
            Err(e) if e.kind() == ErrorKind::NotFound && attempts < 3 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
    sync_parent(dest);
    Ok(true)
}

/// Makes a rename or removal in the directory durable. Best effort: some file systems do not
/// sync directories, and the file's own data was synced already.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(Ok(dir)) = path.parent().map(File::open) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// A path that does not exist, or whose parent is a file (so it cannot exist).
fn is_absent(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("a file task failed")
}
