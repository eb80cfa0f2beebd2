//! One read of a file gives its MD5 (declared when the transfer is created) and the MD5 of each
//! part it will be uploaded in (each part's PUT is signed with it), so that the bytes can then
//! stream from disk to storage without being held in memory.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

const READ_CHUNK: usize = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Base64 of the 16 bytes, as `Content-MD5` spells it.
    pub md5: String,
    pub part_size: u64,
    /// Of each `part_size` piece, in order; the last may be shorter.
    pub parts: Vec<String>,
}

pub fn base64_md5(digest: Md5) -> String {
    STANDARD.encode(digest.finalize())
}

/// Reads `path` once; `progress` hears of every chunk read.
pub fn digest_file(
    path: &Path,
    part_size: u64,
    mut progress: impl FnMut(u64),
) -> std::io::Result<FileDigest> {
    assert!(part_size > 0, "a part has at least one byte");
    let mut file = std::fs::File::open(path)?;
    let mut whole = Md5::new();
    let mut part = Md5::new();
    let mut in_part = 0u64;
    let mut parts = Vec::new();
    let mut buffer = vec![0u8; READ_CHUNK];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        let mut chunk = &buffer[..read];
        whole.update(chunk);
        while !chunk.is_empty() {
            let room = (part_size - in_part).min(chunk.len() as u64) as usize;
            part.update(&chunk[..room]);
            in_part += room as u64;
            chunk = &chunk[room..];
            if in_part == part_size {
                parts.push(base64_md5(std::mem::take(&mut part)));
                in_part = 0;
            }
        }
        progress(read as u64);
    }
    if in_part > 0 {
        parts.push(base64_md5(part));
    }
    Ok(FileDigest {
        md5: base64_md5(whole),
        part_size,
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5_of(bytes: &[u8]) -> String {
        STANDARD.encode(Md5::digest(bytes))
    }

    #[test]
    fn parts_split_at_part_size_whatever_the_read_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..(3 * READ_CHUNK + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let part_size = READ_CHUNK as u64 + 5;
        let mut seen = 0;
        let digest = digest_file(&path, part_size, |n| seen += n).unwrap();
        assert_eq!(seen, bytes.len() as u64);
        assert_eq!(digest.md5, md5_of(&bytes));
        let expected: Vec<String> = bytes.chunks(part_size as usize).map(md5_of).collect();
        assert_eq!(digest.parts, expected);

        std::fs::write(&path, b"").unwrap();
        assert!(digest_file(&path, 16, |_| ()).unwrap().parts.is_empty());
    }
}
