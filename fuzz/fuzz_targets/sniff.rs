#![no_main]
//! The upload inspector over any bytes: type sniffing, ZIP structure and the tail ring buffer.
//! The verdict must not depend on how the bytes were chunked, executables are always caught,
//! and the default policy never accepts what it does not allow.

use ferry_core::validation::{DetectedType, Inspection, Inspector, TypePolicy, TypeVerdict};
use libfuzzer_sys::fuzz_target;

fn inspect(data: &[u8], chunk: usize, tail_cap: Option<usize>) -> Inspection {
    let mut inspector = tail_cap.map_or_else(Inspector::new, Inspector::with_tail_capacity);
    for piece in data.chunks(chunk.max(1)) {
        inspector.update(piece);
    }
    inspector.finish()
}

fuzz_target!(|data: &[u8]| {
    let whole = inspect(data, usize::MAX, None);
    assert_eq!(whole.size, data.len() as u64);
    assert_eq!(whole.detected == DetectedType::Empty, data.is_empty());

    // Chunk sizes and tail capacity derived from the bytes, so that every input replays alike.
    let seed = data.iter().fold(17usize, |h, &b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    let chunk = 1 + seed % 97;
    assert_eq!(inspect(data, chunk, None), whole, "chunks of {chunk}");
    if data.len() <= 2048 {
        assert_eq!(inspect(data, 1, None), whole, "one byte at a time");
    }
    assert_eq!(
        inspect(data, chunk, Some(data.len())),
        whole,
        "a tail just big enough"
    );
    // A tail smaller than the object: the ring wraps, and must keep the same last bytes however
    // they arrived.
    let cap = (seed >> 8) % (data.len() + 1);
    assert_eq!(
        inspect(data, chunk, Some(cap)),
        inspect(data, usize::MAX, Some(cap)),
        "a tail of {cap} in chunks of {chunk}"
    );

    if data.starts_with(b"MZ") || data.starts_with(b"\x7FELF") || data.starts_with(b"\0asm") {
        assert_eq!(whole.detected, DetectedType::Executable);
    }
    if matches!(whole.detected, DetectedType::Text | DetectedType::Csv) {
        let prefix = &data[..data.len().min(8 * 1024)];
        let utf16 = prefix.starts_with(b"\xFF\xFE") || prefix.starts_with(b"\xFE\xFF");
        assert!(utf16 || !prefix.contains(&0), "text with a NUL");
    }

    let policy = TypePolicy::default();
    let declared_in_data = String::from_utf8_lossy(&data[..data.len().min(48)]);
    for declared in [
        "",
        "application/octet-stream",
        whole.detected.mime(),
        "text/plain; charset=utf-8",
        "application/zip",
        &declared_in_data,
    ] {
        let verdict = policy.check(declared, whole.detected);
        if verdict == TypeVerdict::Accepted {
            assert!(policy.allows(whole.detected));
            assert!(!matches!(
                whole.detected,
                DetectedType::Executable
                    | DetectedType::Script
                    | DetectedType::Html
                    | DetectedType::Zip
                    | DetectedType::Unknown
                    | DetectedType::Empty
            ));
        }
    }
});
