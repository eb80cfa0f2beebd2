//! Processes measured from outside: their peak resident memory and the time of a command.

use anyhow::{Context, bail};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The peak resident set size of a running process (its `VmHWM`), in MiB.
pub fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading the status of process {pid}"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/PID/status")?;
    Ok(kib / 1024.0)
}

/// How much of a running process's resident memory is pages of files (its binary and
/// libraries) rather than its own (heap, stacks), in MiB.
pub fn file_backed_rss_mib(pid: u32) -> anyhow::Result<f64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .with_context(|| format!("reading the memory map of process {pid}"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        rollup
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .with_context(|| format!("no {name} in smaps_rollup"))
    };
    Ok((field("Rss:")? - field("Anonymous:")?) / 1024.0)
}

/// Runs a command to its end and returns its wall time in seconds and its standard output.
pub fn timed(program: &str, args: &[&str]) -> anyhow::Result<(f64, String)> {
    let start = Instant::now();
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {program}"))?;
    let seconds = start.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!("{program} {} failed: {}", args.join(" "), output.status);
    }
    Ok((
        seconds,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

/// Writes the page cache's dirty pages out, so that a measurement does not pay for the one
/// before it.
pub fn sync_disks() -> anyhow::Result<()> {
    timed("sync", &[]).map(|_| ())
}
