//! What an unfinished `ferry send` has done, kept on disk so that the same command run again
//! goes on where it stopped: the transfer and the ETag of every part
//! storage acknowledged. A file that changed since (size or modification time) starts over.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    pub path: PathBuf,
    pub size: u64,
    pub modified_ns: i128,
    pub document_id: String,
    /// Part number to the ETag storage answered.
    #[serde(default)]
    pub etags: BTreeMap<u32, String>,
    /// Storage has every byte (the PUT or `complete` succeeded); only validation is left.
    #[serde(default)]
    pub stored: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendState {
    pub transfer_id: String,
    pub files: Vec<FileState>,
}

/// A file as it is now: what decides whether a saved state still applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileIdentity {
    pub path: PathBuf,
    pub size: u64,
    pub modified_ns: i128,
}

impl FileIdentity {
    /// A regular file's identity; anything else is an error.
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let path = std::fs::canonicalize(path)?;
        let meta = std::fs::metadata(&path)?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        let modified_ns = meta
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or_default();
        Ok(Self {
            path,
            size: meta.len(),
            modified_ns,
        })
    }

    pub fn matches(&self, state: &FileState) -> bool {
        self.path == state.path && self.size == state.size && self.modified_ns == state.modified_ns
    }
}

pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The same portal, recipients and files (by path) name the same state.
    pub fn for_send(portal: &str, recipients: &[String], files: &[FileIdentity]) -> Self {
        let mut key = Sha256::new();
        key.update(portal.trim_end_matches('/').as_bytes());
        let mut recipients: Vec<String> = recipients.iter().map(|r| r.to_lowercase()).collect();
        recipients.sort();
        for r in &recipients {
            key.update([0]);
            key.update(r.as_bytes());
        }
        for f in files {
            key.update([1]);
            key.update(f.path.to_string_lossy().as_bytes());
        }
        let name = format!("{}.json", hex::encode(&key.finalize()[..16]));
        Self {
            path: crate::dirs::state_dir().join("sends").join(name),
        }
    }

    pub fn load(&self) -> Option<SendState> {
        let text = std::fs::read(&self.path).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Written whole to a temporary file (readable by the user only) and renamed over the old
    /// one: a crash leaves one or the other.
    pub fn save(&self, state: &SendState) -> anyhow::Result<()> {
        let dir = self.path.parent().expect("a state file has a directory");
        std::fs::create_dir_all(dir)?;
        let mut temporary = tempfile::NamedTempFile::new_in(dir)?;
        temporary.write_all(&serde_json::to_vec(state)?)?;
        temporary.as_file().sync_all()?;
        temporary.persist(&self.path)?;
        Ok(())
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
