//! Names that become paths: object keys and multipart upload ids, checked once so that nothing
//! built from them can leave the store's root or reach its private `.tmp` and `.uploads` dirs.

use std::fmt;

/// S3's limit on a key's length.
const MAX_KEY_LEN: usize = 1024;

/// S3's range of part numbers.
pub(super) const MAX_PART_NUMBER: u32 = 10_000;

/// A key such as `transfers/{tid}/{did}`: slash-separated segments of ASCII letters, digits,
/// `-`, `_` and `.`, none empty and none starting with a dot. The system chooses every key, so
/// this is stricter than S3 and keeps each key a safe relative path on any file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ObjectKey(String);

impl ObjectKey {
    pub(super) fn parse(key: &str) -> anyhow::Result<Self> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            anyhow::bail!("an object key has 1 to {MAX_KEY_LEN} bytes");
        }
        if key.contains("..") {
            anyhow::bail!("an object key may not contain '..'");
        }
        for segment in key.split('/') {
            if segment.is_empty() {
                anyhow::bail!("an object key has no empty segment and no leading or trailing '/'");
            }
            if segment.starts_with('.') {
                anyhow::bail!("no segment of an object key starts with '.'");
            }
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
            if !segment.chars().all(allowed) {
                anyhow::bail!(
                    "an object key has only ASCII letters, digits, '-', '_', '.' and '/'"
                );
            }
        }
        Ok(Self(key.to_owned()))
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }

    pub(super) fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// Whether a new object here is announced with `Job::ObjectCreated`, as the bucket's event
    /// notification does for the uploaded documents (and not for extracted text).
    pub(super) fn notifies(&self) -> bool {
        self.0.starts_with("transfers/")
    }

    /// An upload speed test's probe: its bytes are measured, never kept.
    pub(super) fn is_speed_probe(&self) -> bool {
        self.0.starts_with(ferry_core::ports::SPEED_TEST_PREFIX)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A multipart upload's id: 128 random bits as 32 lowercase hex digits, also a directory name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct UploadId(String);

impl UploadId {
    pub(super) fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    pub(super) fn parse(id: &str) -> Option<Self> {
        let valid = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| Self(id.to_owned()))
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
