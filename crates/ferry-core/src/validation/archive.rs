//! Tells Office Open XML and OpenDocument files from other ZIP archives by their structure.
//!
//! A deliberately small parser over hostile input: every read is bounds-checked and any
//! inconsistency makes the object a plain [`DetectedType::Zip`], which the default policy rejects.

use super::DetectedType;

pub(super) const LOCAL_SIG: &[u8] = b"PK\x03\x04";
const CENTRAL_SIG: &[u8] = b"PK\x01\x02";
const EOCD_SIG: &[u8] = b"PK\x05\x06";
const EOCD64_SIG: &[u8] = b"PK\x06\x06";
const EOCD64_LOCATOR_SIG: &[u8] = b"PK\x06\x07";
const EOCD_LEN: usize = 22;
const EOCD64_LEN: usize = 56;
const EOCD64_LOCATOR_LEN: usize = 20;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;

/// `prefix`: the first bytes of the object; `tail`: its last bytes, starting at `tail_start`.
pub(super) fn classify(prefix: &[u8], tail: &[u8], tail_start: u64) -> DetectedType {
    #[derive(Default)]
    struct Parts {
        content_types: bool,
        word: bool,
        workbook: bool,
        presentation: bool,
        odf_content: bool,
    }
    let mut parts = Parts::default();
    let listed = for_each_entry(tail, tail_start, |name| match name {
        b"[Content_Types].xml" => parts.content_types = true,
        b"word/document.xml" => parts.word = true,
        b"xl/workbook.xml" => parts.workbook = true,
        b"ppt/presentation.xml" => parts.presentation = true,
        b"content.xml" => parts.odf_content = true,
        _ => {}
    });
    if listed.is_none() {
        return DetectedType::Zip;
    }
    if parts.content_types {
        if parts.word {
            return DetectedType::Docx;
        }
        if parts.workbook {
            return DetectedType::Xlsx;
        }
        if parts.presentation {
            return DetectedType::Pptx;
        }
    }
    let odf = if parts.odf_content {
        odf_mimetype(prefix)
    } else {
        None
    };
    odf.unwrap_or(DetectedType::Zip)
}

/// ODF requires the first entry to be an uncompressed `mimetype` naming the document kind.
fn odf_mimetype(prefix: &[u8]) -> Option<DetectedType> {
    if prefix.get(..4)? != LOCAL_SIG || le16(prefix, 8)? != 0 {
        return None;
    }
    let size = usize::try_from(le32(prefix, 18)?).ok()?;
    let name_len = usize::from(le16(prefix, 26)?);
    let extra_len = usize::from(le16(prefix, 28)?);
    if prefix.get(LOCAL_LEN..LOCAL_LEN + name_len)? != b"mimetype" {
        return None;
    }
    let start = LOCAL_LEN + name_len + extra_len;
    match prefix.get(start..start.checked_add(size)?)? {
        b"application/vnd.oasis.opendocument.text" => Some(DetectedType::Odt),
        b"application/vnd.oasis.opendocument.spreadsheet" => Some(DetectedType::Ods),
        b"application/vnd.oasis.opendocument.presentation" => Some(DetectedType::Odp),
        _ => None,
    }
}

/// Calls `visit` with the name of every central directory entry. `None` when the end of central
/// directory cannot be found, the directory is not wholly in `tail`, or anything is inconsistent.
fn for_each_entry(tail: &[u8], tail_start: u64, mut visit: impl FnMut(&[u8])) -> Option<()> {
    let eocd = find_eocd(tail)?;
    // Multi-disk archives are not something a browser uploads.
    if le16(tail, eocd + 4)? != 0 || le16(tail, eocd + 6)? != 0 {
        return None;
    }
    let mut entries = u64::from(le16(tail, eocd + 10)?);
    let mut cd_size = u64::from(le32(tail, eocd + 12)?);
    let mut cd_offset = u64::from(le32(tail, eocd + 16)?);
    let mut cd_end = tail_start.checked_add(eocd as u64)?;

    if eocd >= EOCD64_LOCATOR_LEN
        && tail
            .get(eocd - EOCD64_LOCATOR_LEN..)?
            .starts_with(EOCD64_LOCATOR_SIG)
    {
        let locator = eocd - EOCD64_LOCATOR_LEN;
        let record_at = le64(tail, locator + 8)?;
        let record = usize::try_from(record_at.checked_sub(tail_start)?).ok()?;
        // The ZIP64 record (with its variable extensible data) sits before its locator.
        if record.checked_add(EOCD64_LEN)? > locator || !tail.get(record..)?.starts_with(EOCD64_SIG)
        {
            return None;
        }
        entries = le64(tail, record + 32)?;
        cd_size = le64(tail, record + 40)?;
        cd_offset = le64(tail, record + 48)?;
        cd_end = record_at;
    }

    // The directory ends where the end records begin; anything else is a corrupt or crafted
    // archive. Offsets are absolute because the object starts with a local file header.
    if cd_offset.checked_add(cd_size)? != cd_end {
        return None;
    }
    let start = usize::try_from(cd_offset.checked_sub(tail_start)?).ok()?;
    let cd = tail.get(start..start.checked_add(usize::try_from(cd_size).ok()?)?)?;
    if entries > (cd.len() / CENTRAL_LEN) as u64 {
        return None;
    }
    let mut pos = 0usize;
    for _ in 0..entries {
        if !cd.get(pos..)?.starts_with(CENTRAL_SIG) {
            return None;
        }
        let name_len = usize::from(le16(cd, pos + 28)?);
        let extra_len = usize::from(le16(cd, pos + 30)?);
        let comment_len = usize::from(le16(cd, pos + 32)?);
        let name_start = pos + CENTRAL_LEN;
        visit(cd.get(name_start..name_start + name_len)?);
        pos = name_start + name_len + extra_len + comment_len;
    }
    (pos == cd.len()).then_some(())
}

/// The end of central directory record: the last signature whose comment runs exactly to the
/// end of the object (a signature inside the comment would not).
fn find_eocd(tail: &[u8]) -> Option<usize> {
    let last = tail.len().checked_sub(EOCD_LEN)?;
    let first = last.saturating_sub(usize::from(u16::MAX));
    (first..=last).rev().find(|&pos| {
        tail[pos..].starts_with(EOCD_SIG)
            && le16(tail, pos + 20).is_some_and(|len| usize::from(len) == last - pos)
    })
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}
