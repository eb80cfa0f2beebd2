//! `ferry-bench run` measures Ferry beside its baselines on this machine and writes
//! BENCHMARKS.md; `bench/run.sh` builds what it measures and runs it.

mod api;
mod cold_start;
mod events;
mod local;
mod package;
mod process;
mod report;
mod stats;
mod upload;
mod validation;
mod warm;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use report::{Header, Section};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Parser)]
#[command(about = "Ferry's benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Runs every benchmark and writes the report.
    Run {
        /// Small sizes and few iterations: proves the benchmarks work, measures nothing.
        #[arg(long)]
        quick: bool,
        /// Where the report goes.
        #[arg(long, default_value = "BENCHMARKS.md")]
        out: PathBuf,
        /// The functions' binaries: `DIR/NAME/bootstrap` (cargo lambda) or `DIR/NAME`.
        #[arg(long)]
        functions: PathBuf,
        /// How the functions were built, for the report.
        #[arg(long)]
        functions_built_by: String,
        #[arg(long)]
        ferry_local: PathBuf,
        /// A Python with boto3 and awslambdaric.
        #[arg(long)]
        python: PathBuf,
        /// Scratch space for the test files, on the disk under test.
        #[arg(long, default_value = "target/bench")]
        scratch: PathBuf,
        /// The command that produced the report, as the report names it.
        #[arg(long, default_value = "bench/run.sh")]
        command: String,
        /// Only these benchmarks (all when absent).
        #[arg(long, value_enum)]
        only: Vec<Bench>,
    },
    /// Validates one object of a disk store and prints the time, peak RSS and digests (a
    /// process of its own, so that its memory is measured alone).
    #[command(hide = true)]
    ValidateObject {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        key: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Bench {
    Package,
    ColdStart,
    Warm,
    Validation,
    Upload,
    Api,
}

pub struct Setup {
    pub quick: bool,
    pub repo: PathBuf,
    pub scratch: PathBuf,
    functions: PathBuf,
    functions_built_by: String,
    pub ferry_local: PathBuf,
    pub python: PathBuf,
}

impl Setup {
    /// Runs of a figure: `full` normally, `quick` in quick mode.
    pub fn runs(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }

    pub fn bootstrap(&self, name: &str) -> anyhow::Result<PathBuf> {
        let lambda = self.functions.join(name).join("bootstrap");
        let cargo = self.functions.join(name);
        [lambda, cargo]
            .into_iter()
            .find(|p| p.is_file())
            .with_context(|| format!("no binary of {name} in {}", self.functions.display()))
    }

    /// How ferry-local was built, for the report.
    pub fn ferry_local_build(&self) -> &'static str {
        if self.quick {
            "debug build"
        } else {
            "release build"
        }
    }

    pub fn bootstrap_origin(&self) -> String {
        self.functions_built_by.clone()
    }
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|| "not found".into())
}

fn machine(setup: &Setup) -> Vec<(String, String)> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let commit = first_line("git", &["rev-parse", "--short=12", "HEAD"]);
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    let python = setup.python.to_str().unwrap_or("python3");
    vec![
        (
            "date".into(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        (
            "commit".into(),
            format!(
                "{commit}{}",
                if dirty {
                    " (with uncommitted changes)"
                } else {
                    ""
                }
            ),
        ),
        ("CPU".into(), format!("{cpu}, {cores} cores")),
        ("memory".into(), memory),
        (
            "kernel".into(),
            read("/proc/sys/kernel/osrelease").trim().to_owned(),
        ),
        ("rustc".into(), first_line("rustc", &["--version"])),
        ("Python".into(), first_line(python, &["--version"])),
        (
            "boto3, awslambdaric".into(),
            first_line(
                python,
                &[
                    "-c",
                    "import boto3, importlib.metadata as m; print(boto3.__version__, m.version('awslambdaric'))",
                ],
            ),
        ),
        ("md5sum".into(), first_line("md5sum", &["--version"])),
        ("wrk".into(), first_line("wrk", &["-v"])),
    ]
}

async fn run_all(setup: &Setup, only: &[Bench]) -> anyhow::Result<Vec<Section>> {
    std::fs::create_dir_all(setup.scratch.join("logs"))?;
    let wanted = |bench: Bench| {
        let wanted = only.is_empty() || only.contains(&bench);
        if wanted {
            eprintln!("== {bench:?}");
        }
        wanted
    };
    let mut sections = Vec::new();
    if wanted(Bench::Package) {
        sections.push(package::run(setup)?);
    }
    if wanted(Bench::ColdStart) {
        sections.push(cold_start::run(setup).await?);
    }
    if wanted(Bench::Warm) {
        sections.push(warm::run(setup).await?);
    }
    if wanted(Bench::Validation) {
        sections.push(validation::run(setup)?);
    }
    if only.is_empty() || only.contains(&Bench::Upload) || only.contains(&Bench::Api) {
        let server = local::LocalServer::start(setup).await?;
        if wanted(Bench::Upload) {
            sections.push(upload::run(setup, &server).await?);
        }
        if wanted(Bench::Api) {
            sections.push(api::run(setup, &server).await?);
        }
    }
    Ok(sections)
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(std::env::current_dir()?.join(path))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Commands::ValidateObject { store, key } => validation::validate_object(store, &key).await,
        Commands::Run {
            quick,
            out,
            functions,
            functions_built_by,
            ferry_local,
            python,
            scratch,
            command,
            only,
        } => {
            let repo = std::env::current_dir()?;
            if !repo.join("bench/python/presign.py").is_file() {
                bail!("run from the repository's root");
            }
            let setup = Setup {
                quick,
                repo,
                scratch: absolute(&scratch)?,
                functions: absolute(&functions)?,
                functions_built_by,
                ferry_local: absolute(&ferry_local)?,
                python: absolute(&python)?,
            };
            let sections = run_all(&setup, &only).await?;
            let header = Header {
                mode: if quick { "quick" } else { "full" },
                command,
                machine: machine(&setup),
            };
            std::fs::write(&out, report::render(&header, &sections))?;
            eprintln!("== wrote {}", out.display());
            Ok(())
        }
    }
}
