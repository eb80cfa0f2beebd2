//! One streaming pass over an uploaded object: size, MD5, SHA-256 and the real type, sniffed from
//! the bytes rather than trusted from the name or the declared content type.
//!
//! Memory is bounded whatever the object size: the hashers, the first [`PREFIX_LEN`] bytes and,
//! only for objects that start like a ZIP archive, the last [`TAIL_LEN`] bytes (where the central
//! directory lives).

mod archive;
mod sniff;
mod stream;

pub use stream::{StreamInspection, inspect_stream};

#[cfg(test)]
mod tests;

use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// Bytes kept from the start of the object: enough for every magic number, an ODF `mimetype`
/// entry and a representative sample of a text file.
pub(crate) const PREFIX_LEN: usize = 8 * 1024;
/// Bytes kept from the end of a ZIP-looking object: room for the end of central directory
/// record with the longest comment and the central directory of any ordinary Office file.
pub(crate) const TAIL_LEN: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectedType {
    Pdf,
    Png,
    Jpeg,
    Tiff,
    Gif,
    Webp,
    Text,
    Csv,
    Docx,
    Xlsx,
    Pptx,
    Odt,
    Ods,
    Odp,
    Zip,
    Executable,
    Script,
    Html,
    Empty,
    Unknown,
}

impl DetectedType {
    pub const ALL: [DetectedType; 20] = [
        Self::Pdf,
        Self::Png,
        Self::Jpeg,
        Self::Tiff,
        Self::Gif,
        Self::Webp,
        Self::Text,
        Self::Csv,
        Self::Docx,
        Self::Xlsx,
        Self::Pptx,
        Self::Odt,
        Self::Ods,
        Self::Odp,
        Self::Zip,
        Self::Executable,
        Self::Script,
        Self::Html,
        Self::Empty,
        Self::Unknown,
    ];

    /// The snake_case name, the same as the serde form.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Tiff => "tiff",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Text => "text",
            Self::Csv => "csv",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Pptx => "pptx",
            Self::Odt => "odt",
            Self::Ods => "ods",
            Self::Odp => "odp",
            Self::Zip => "zip",
            Self::Executable => "executable",
            Self::Script => "script",
            Self::Html => "html",
            Self::Empty => "empty",
            Self::Unknown => "unknown",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Tiff => "image/tiff",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Text => "text/plain",
            Self::Csv => "text/csv",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Self::Odt => "application/vnd.oasis.opendocument.text",
            Self::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            Self::Odp => "application/vnd.oasis.opendocument.presentation",
            Self::Zip => "application/zip",
            Self::Executable => "application/x-executable",
            Self::Script => "text/x-shellscript",
            Self::Html => "text/html",
            Self::Empty => "application/x-empty",
            Self::Unknown => "application/octet-stream",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(
            self,
            Self::Png | Self::Jpeg | Self::Tiff | Self::Gif | Self::Webp
        )
    }

    fn is_office(self) -> bool {
        matches!(
            self,
            Self::Docx | Self::Xlsx | Self::Pptx | Self::Odt | Self::Ods | Self::Odp
        )
    }

    /// Declared content types, besides [`Self::mime`], that name this type's family.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::Pdf => &["application/x-pdf"],
            Self::Jpeg => &["image/jpg", "image/pjpeg"],
            Self::Tiff => &["image/tif"],
            // Browsers label .csv files text/csv or, where Excel is installed, vnd.ms-excel; a
            // CSV/text split decided by a heuristic must not reject either way.
            Self::Text => &["text/csv", "application/vnd.ms-excel"],
            Self::Csv => &["text/plain", "application/vnd.ms-excel"],
            // Office files are ZIP archives; Windows browsers say x-zip-compressed for zip.
            t if t.is_office() => &["application/zip", "application/x-zip-compressed"],
            Self::Zip => &["application/x-zip-compressed"],
            _ => &[],
        }
    }
}

impl fmt::Display for DetectedType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DetectedType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "unknown type '{}'; expected one of {}",
                    s.escape_debug(),
                    names.join(", ")
                )
            })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub size: u64,
    pub md5: [u8; 16],
    pub sha256: [u8; 32],
    pub detected: DetectedType,
}

/// Computes an [`Inspection`] from the bytes of an object fed in chunks of any size, on the
/// caller's thread. [`inspect_stream`] does the same with the two digests on threads of their own.
pub struct Inspector {
    sniffer: Sniffer,
    md5: Md5,
    sha256: Sha256,
}

impl Default for Inspector {
    fn default() -> Self {
        Self::new()
    }
}

impl Inspector {
    pub fn new() -> Self {
        Self::with_tail_capacity(TAIL_LEN)
    }

    /// Keeps only the last `tail_cap` bytes of a ZIP. Public for the fuzz targets, which need a
    /// tail small enough for their inputs to wrap around it; everything else uses [`Self::new`].
    #[doc(hidden)]
    pub fn with_tail_capacity(tail_cap: usize) -> Self {
        Self {
            sniffer: Sniffer::with_tail_capacity(tail_cap),
            md5: Md5::new(),
            sha256: Sha256::new(),
        }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.md5.update(chunk);
        self.sha256.update(chunk);
        self.sniffer.update(chunk);
    }

    pub fn finish(self) -> Inspection {
        let (size, detected) = self.sniffer.finish();
        Inspection {
            size,
            md5: self.md5.finalize().into(),
            sha256: self.sha256.finalize().into(),
            detected,
        }
    }

    /// Capacities of the buffers kept across chunks: (prefix, tail).
    #[cfg(test)]
    fn retained_capacity(&self) -> (usize, usize) {
        self.sniffer.retained_capacity()
    }
}

/// The size and the real type of an object fed in chunks: everything of an inspection but the
/// digests.
pub(crate) struct Sniffer {
    size: u64,
    prefix: Vec<u8>,
    tail: Tail,
    tail_cap: usize,
}

enum Tail {
    /// Fewer than 4 bytes seen: cannot tell yet whether this is a ZIP.
    Undecided,
    NotZip,
    Zip(Ring),
}

impl Sniffer {
    pub(crate) fn new() -> Self {
        Self::with_tail_capacity(TAIL_LEN)
    }

    fn with_tail_capacity(tail_cap: usize) -> Self {
        Self {
            size: 0,
            prefix: Vec::new(),
            tail: Tail::Undecided,
            tail_cap,
        }
    }

    pub(crate) fn update(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        let seen_before = self.prefix.len();
        if seen_before < PREFIX_LEN {
            if self.prefix.capacity() == 0 {
                self.prefix.reserve_exact(PREFIX_LEN);
            }
            let take = chunk.len().min(PREFIX_LEN - seen_before);
            self.prefix.extend_from_slice(&chunk[..take]);
        }
        self.size += chunk.len() as u64;
        match &mut self.tail {
            Tail::Zip(ring) => ring.push(chunk),
            Tail::NotZip => {}
            Tail::Undecided if self.prefix.len() >= archive::LOCAL_SIG.len() => {
                if self.prefix.starts_with(archive::LOCAL_SIG) {
                    // Undecided means fewer than 4 bytes came before this chunk, all of them
                    // still in the prefix: together with the chunk they are the whole stream.
                    let mut ring = Ring::new(self.tail_cap);
                    ring.push(&self.prefix[..seen_before]);
                    ring.push(chunk);
                    self.tail = Tail::Zip(ring);
                } else {
                    self.tail = Tail::NotZip;
                }
            }
            Tail::Undecided => {}
        }
    }

    /// The size and the detected type.
    pub(crate) fn finish(self) -> (u64, DetectedType) {
        (self.size, detect(self.size, &self.prefix, self.tail))
    }

    #[cfg(test)]
    fn retained_capacity(&self) -> (usize, usize) {
        let tail = match &self.tail {
            Tail::Zip(ring) => ring.buf.capacity(),
            Tail::Undecided | Tail::NotZip => 0,
        };
        (self.prefix.capacity(), tail)
    }
}

fn detect(size: u64, prefix: &[u8], tail: Tail) -> DetectedType {
    if size == 0 {
        return DetectedType::Empty;
    }
    match tail {
        // An archive that PDF readers would open too (its first entry, stored, starts with a PDF
        // header) is one file read as two types: neither is trusted.
        Tail::Zip(_) if sniff::pdf_reader_would_open(prefix) => {
            tracing::debug!("a ZIP archive with a PDF header in its first KiB");
            DetectedType::Unknown
        }
        Tail::Zip(ring) => {
            let tail = ring.into_contiguous();
            let tail_start = size - tail.len() as u64;
            archive::classify(prefix, &tail, tail_start)
        }
        Tail::Undecided | Tail::NotZip => sniff::detect(prefix, size == prefix.len() as u64),
    }
}

/// The last `cap` bytes of a stream.
struct Ring {
    buf: Vec<u8>,
    cap: usize,
    /// Once `buf` is full: where the next byte goes, which is also where the oldest byte is.
    pos: usize,
}

impl Ring {
    fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap,
            pos: 0,
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        if data.len() >= self.cap {
            data = &data[data.len() - self.cap..];
            self.grow_to(self.cap);
            self.buf.clear();
            self.buf.extend_from_slice(data);
            self.pos = 0;
            return;
        }
        if self.buf.len() < self.cap {
            let take = data.len().min(self.cap - self.buf.len());
            self.grow_to(self.buf.len() + take);
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        if data.is_empty() {
            return;
        }
        // Full: overwrite the oldest bytes, wrapping around once at most (data < cap).
        let first = data.len().min(self.cap - self.pos);
        self.buf[self.pos..self.pos + first].copy_from_slice(&data[..first]);
        let rest = &data[first..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.pos = (self.pos + data.len()) % self.cap;
    }

    /// Grows geometrically like a Vec would, but never past `cap`: small archives stay small
    /// and large ones cost exactly `cap`.
    fn grow_to(&mut self, needed: usize) {
        let capacity = self.buf.capacity();
        if needed > capacity {
            let target = needed.max(capacity * 2).max(4096).min(self.cap);
            self.buf.reserve_exact(target - self.buf.len());
        }
    }

    /// The retained bytes in stream order, rotated in place.
    fn into_contiguous(mut self) -> Vec<u8> {
        if self.buf.len() == self.cap {
            self.buf.rotate_left(self.pos);
        }
        self.buf
    }
}

/// An allow-list of detected types, with the rules that match them to declared content types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypePolicy {
    allowed: HashSet<DetectedType>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeVerdict {
    Accepted,
    NotAllowed,
    Mismatch,
}

impl Default for TypePolicy {
    fn default() -> Self {
        Self::documents_and_images()
    }
}

impl TypePolicy {
    pub fn documents_and_images() -> Self {
        use DetectedType::*;
        Self::from_types([
            Pdf, Png, Jpeg, Tiff, Gif, Webp, Text, Csv, Docx, Xlsx, Pptx, Odt, Ods, Odp,
        ])
    }

    pub fn from_types(types: impl IntoIterator<Item = DetectedType>) -> Self {
        Self {
            allowed: types.into_iter().collect(),
        }
    }

    /// A comma-separated list of snake_case type names, e.g. `pdf, png, text`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let allowed = list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| name.to_ascii_lowercase().parse())
            .collect::<Result<HashSet<DetectedType>, String>>()?;
        if allowed.is_empty() {
            return Err("the list of allowed types is empty".into());
        }
        Ok(Self { allowed })
    }

    pub fn allows(&self, detected: DetectedType) -> bool {
        self.allowed.contains(&detected)
    }

    pub fn check(&self, declared_content_type: &str, detected: DetectedType) -> TypeVerdict {
        if !self.allows(detected) {
            return TypeVerdict::NotAllowed;
        }
        let declared = declared_content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        // The browser did not know the type: the bytes alone decide.
        if declared.is_empty() || declared == "application/octet-stream" {
            return TypeVerdict::Accepted;
        }
        if declared == detected.mime() || detected.aliases().contains(&declared.as_str()) {
            TypeVerdict::Accepted
        } else {
            TypeVerdict::Mismatch
        }
    }
}
