//! A file's MD5 and the MD5 of each part it is uploaded in (each part's PUT is signed with it),
//! read from disk in constant memory: all at once for a small file, whose MD5 is declared when
//! the transfer is created, or a few parts ahead of the upload for a large one, whose MD5 is
//! declared when its upload is completed.

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

/// Reads a file part by part, in order, hashing each part and the whole file on the way: the
/// uploader hashes the next parts while the ones before are sent, and knows the file's MD5 once
/// the last part is read.
pub struct PartHasher {
    file: std::fs::File,
    whole: Md5,
    part_size: u64,
    next_number: u32,
    buffer: Vec<u8>,
}

impl PartHasher {
    pub fn open(path: &Path, part_size: u64) -> std::io::Result<Self> {
        assert!(part_size > 0, "a part has at least one byte");
        Ok(Self {
            file: std::fs::File::open(path)?,
            whole: Md5::new(),
            part_size,
            next_number: 1,
            buffer: vec![0u8; READ_CHUNK],
        })
    }

    /// The numbers and MD5s of up to `count` next parts; none once the file is read to its end.
    /// `progress` hears of every chunk read.
    pub fn next_parts(
        &mut self,
        count: u32,
        progress: &mut impl FnMut(u64),
    ) -> std::io::Result<Vec<(u32, String)>> {
        let mut parts = Vec::new();
        while (parts.len() as u32) < count {
            let mut part = Md5::new();
            let mut in_part = 0u64;
            while in_part < self.part_size {
                let want = (self.part_size - in_part).min(READ_CHUNK as u64) as usize;
                let read = self.file.read(&mut self.buffer[..want])?;
                if read == 0 {
                    break;
                }
                part.update(&self.buffer[..read]);
                self.whole.update(&self.buffer[..read]);
                in_part += read as u64;
                progress(read as u64);
            }
            if in_part == 0 {
                break;
            }
            parts.push((self.next_number, base64_md5(part)));
            self.next_number += 1;
        }
        Ok(parts)
    }

    /// Parts hashed so far.
    pub fn parts_read(&self) -> u32 {
        self.next_number - 1
    }

    /// The whole file's MD5, once every part was read.
    pub fn finish(self) -> String {
        base64_md5(self.whole)
    }
}

/// Reads `path` once; `progress` hears of every chunk read.
pub fn digest_file(
    path: &Path,
    part_size: u64,
    mut progress: impl FnMut(u64),
) -> std::io::Result<FileDigest> {
    let mut hasher = PartHasher::open(path, part_size)?;
    let parts = hasher
        .next_parts(u32::MAX, &mut progress)?
        .into_iter()
        .map(|(_, md5)| md5)
        .collect();
    Ok(FileDigest {
        md5: hasher.finish(),
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

    #[test]
    fn hashing_a_few_parts_at_a_time_gives_the_same_digests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..(2 * READ_CHUNK + 99)).map(|i| (i % 13) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let part_size = 300_000;
        let mut hasher = PartHasher::open(&path, part_size).unwrap();
        let mut parts = Vec::new();
        loop {
            let next = hasher.next_parts(3, &mut |_| ()).unwrap();
            if next.is_empty() {
                break;
            }
            assert!(next.len() <= 3);
            parts.extend(next);
        }
        assert_eq!(hasher.parts_read() as usize, parts.len());
        let numbers: Vec<u32> = parts.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, (1..=parts.len() as u32).collect::<Vec<_>>());
        let whole = digest_file(&path, part_size, |_| ()).unwrap();
        assert_eq!(hasher.finish(), whole.md5);
        let md5s: Vec<String> = parts.into_iter().map(|(_, m)| m).collect();
        assert_eq!(md5s, whole.parts);
    }
}
