//! Progress on stderr: a bar per file with speed and time left when stderr is a terminal, one
//! plain line per finished file otherwise (logs of cron jobs and services). Stdout is kept for
//! results a script reads.

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub struct Progress {
    multi: Option<MultiProgress>,
    quiet: bool,
}

#[derive(Clone)]
pub struct FileProgress {
    bar: Option<ProgressBar>,
    label: String,
    size: u64,
    started: Instant,
    quiet: bool,
}

impl Progress {
    /// `quiet`: no progress at all (`--json`, where stderr is for errors only).
    pub fn new(quiet: bool) -> Self {
        let bars = !quiet && std::io::stderr().is_terminal();
        Self {
            multi: bars.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            quiet,
        }
    }

    pub fn file(&self, verb: &str, name: &str, size: u64) -> FileProgress {
        let label = format!("{verb} {name}");
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta} left",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_message(label.clone());
            bar
        });
        FileProgress {
            bar,
            label,
            size,
            started: Instant::now(),
            quiet: self.quiet,
        }
    }

    /// A line that does not disturb the bars.
    pub fn note(&self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(line);
            }
            None => eprintln!("{line}"),
        }
    }
}

impl FileProgress {
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Takes back bytes of a part that failed: they are sent again.
    pub fn retreat(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bar.position().saturating_sub(bytes));
        }
    }

    pub fn finish(&self, outcome: &str) {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        match &self.bar {
            Some(bar) => bar.finish_with_message(format!("{} {outcome}", self.label)),
            None if !self.quiet => eprintln!(
                "{}: {} {outcome} in {elapsed:.1} s ({}/s)",
                self.label,
                HumanBytes(self.size),
                HumanBytes((self.size as f64 / elapsed) as u64)
            ),
            None => {}
        }
    }
}
