//! Validation throughput: one object in ferry-local's disk store read through the validation
//! pass (size, type, MD5 and SHA-256) in a process of its own, against `md5sum` and
//! `sha256sum` of the same file, in the same run, from the same page cache.

use crate::Setup;
use crate::process::timed;
use crate::report::{Figure, Row, Section, Target, Unit};
use anyhow::{Context, bail};
use ferry_core::ports::{ObjectStore, WorkQueue};
use ferry_core::validation::{StreamInspection, inspect_stream};
use ferry_local::storage::DiskObjectStore;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const MIB: u64 = 1024 * 1024;
/// Where the objects are in the store: `bench/{name}`.
const KEY_PREFIX: &str = "bench";

/// What the validating process reports.
#[derive(Serialize, Deserialize)]
pub struct Validated {
    pub seconds: f64,
    pub peak_rss_mib: f64,
    pub size: u64,
    pub md5: String,
    pub sha256: String,
}

/// The child process: validates one stored object and prints a [`Validated`] as JSON.
pub async fn validate_object(store: PathBuf, key: &str) -> anyhow::Result<()> {
    let queue: Arc<dyn WorkQueue> = Arc::new(ferry_core::memory::MemoryQueue::default());
    let store = DiskObjectStore::new(store, "http://127.0.0.1".into(), [0; 32], queue)?;
    let start = Instant::now();
    let stream = store.get(key).await?.context("no such object")?;
    let StreamInspection::Complete(inspection) = inspect_stream(stream, u64::MAX).await? else {
        bail!("the object was larger than any limit");
    };
    let seconds = start.elapsed().as_secs_f64();
    let report = Validated {
        seconds,
        peak_rss_mib: crate::process::peak_rss_mib(std::process::id())?,
        size: inspection.size,
        md5: hex::encode(inspection.md5),
        sha256: hex::encode(inspection.sha256),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// A file of `size` pseudo-random bytes (incompressible, no page of zeros).
pub fn random_file(path: &Path, size: u64) -> anyhow::Result<()> {
    if path.metadata().is_ok_and(|m| m.len() == size) {
        return Ok(());
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ size;
    let mut block = vec![0u8; MIB as usize];
    for _ in 0..size / MIB {
        for word in block.chunks_exact_mut(8) {
            // xorshift64*: fast and good enough to defeat any compression or deduplication.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        out.write_all(&block)?;
    }
    out.write_all(&block[..(size % MIB) as usize])?;
    out.flush()?;
    Ok(())
}

fn first_word(output: &str) -> String {
    output
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

struct Sized {
    label: String,
    ferry: Vec<f64>,
    rss: Vec<f64>,
    md5sum: Vec<f64>,
    sha256sum: Vec<f64>,
}

fn measure(setup: &Setup, store: &Path, size: u64, runs: usize) -> anyhow::Result<Sized> {
    let label = if size >= 1024 * MIB {
        format!("{} GiB", size / (1024 * MIB))
    } else {
        format!("{} MiB", size / MIB)
    };
    let name = format!("object-{}", size / MIB);
    let path = store.join(KEY_PREFIX).join(&name);
    std::fs::create_dir_all(path.parent().context("no parent")?)?;
    random_file(&path, size)?;
    let file = path.to_str().context("a path that is not UTF-8")?;
    let key = format!("{KEY_PREFIX}/{name}");
    let bench = std::env::current_exe()?;
    let store_arg = store.to_str().context("a path that is not UTF-8")?;
    // Once unmeasured, so that every run reads from the page cache alike.
    let (_, md5_out) = timed("md5sum", &[file])?;
    let (_, sha_out) = timed("sha256sum", &[file])?;
    let mut measured = Sized {
        label,
        ferry: vec![],
        rss: vec![],
        md5sum: vec![],
        sha256sum: vec![],
    };
    for _ in 0..runs {
        measured.md5sum.push(timed("md5sum", &[file])?.0);
        measured.sha256sum.push(timed("sha256sum", &[file])?.0);
        let (_, output) = timed(
            bench.to_str().context("a path that is not UTF-8")?,
            &["validate-object", "--store", store_arg, "--key", &key],
        )?;
        let validated: Validated = serde_json::from_str(output.trim())?;
        if validated.md5 != first_word(&md5_out) || validated.sha256 != first_word(&sha_out) {
            bail!("the validation's digests differ from md5sum's and sha256sum's");
        }
        if validated.size != size {
            bail!("the validation saw {} bytes of {size}", validated.size);
        }
        measured.ferry.push(validated.seconds);
        measured.rss.push(validated.peak_rss_mib);
    }
    if !setup.quick {
        std::fs::remove_file(&path)?;
    }
    Ok(measured)
}

pub fn run(setup: &Setup) -> anyhow::Result<Section> {
    let store = setup.scratch.join("store");
    let sizes: Vec<(u64, usize)> = if setup.quick {
        vec![(64 * MIB, 1)]
    } else {
        vec![(1024 * MIB, 5), (4096 * MIB, 3)]
    };
    let mut rows = Vec::new();
    for (size, runs) in sizes {
        let m = measure(setup, &store, size, runs)?;
        let md5 = Figure::new(&m.md5sum, Unit::Seconds);
        let sha = Figure::new(&m.sha256sum, Unit::Seconds);
        let slower = if md5.summary.median >= sha.summary.median {
            ("md5sum (the slower hash)", md5.clone())
        } else {
            ("sha256sum (the slower hash)", sha.clone())
        };
        let ferry = Figure::new(&m.ferry, Unit::Seconds);
        let throughput: Vec<f64> = m
            .ferry
            .iter()
            .map(|s| size as f64 / MIB as f64 / s)
            .collect();
        rows.push(
            Row::new(format!("validate {}", m.label), ferry.clone())
                .against(slower.0, slower.1)
                .target(Target::RatioAtMost(1.1)),
        );
        rows.push(Row::new(format!("validate {}", m.label), ferry.clone()).against("md5sum", md5));
        rows.push(Row::new(format!("validate {}", m.label), ferry).against("sha256sum", sha));
        rows.push(Row::new(
            format!("validation throughput, {}", m.label),
            Figure::new(&throughput, Unit::MiBPerSecond),
        ));
        rows.push(
            Row::new(
                format!("validation peak RSS, {}", m.label),
                Figure::new(&m.rss, Unit::MiB),
            )
            .target(Target::AtMost(64.0)),
        );
    }
    Ok(Section {
        title: "Validation throughput".into(),
        method: "An object of pseudo-random bytes is put in ferry-local's disk store; a process \
                 of its own (`ferry-bench validate-object`) opens the store, reads the object \
                 through its `get` stream and runs the validation pass on it (size, type \
                 sniffing, MD5 and SHA-256, each digest on a thread of its own), then reports \
                 its time and its peak RSS (`VmHWM`). In the same run, alternating with it, \
                 `md5sum` and `sha256sum` hash the same file. The file is read once beforehand \
                 so that every run reads from the page cache; the digests must equal \
                 md5sum's and sha256sum's."
            .into(),
        rows,
        notes: vec![],
    })
}
