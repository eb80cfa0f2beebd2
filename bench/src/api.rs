//! API throughput of ferry-local under wrk: creating transfers and reading one, 16 connections,
//! beside the health check (no authentication, no storage) under the same load.

use crate::Setup;
use crate::local::LocalServer;
use crate::report::{Figure, Row, Section, Unit};
use anyhow::{Context, bail};
use serde_json::json;
use std::process::{Command, Stdio};

const CONNECTIONS: usize = 16;

struct Load {
    p50_ms: f64,
    p99_ms: f64,
    requests_per_second: f64,
}

/// A wrk duration (`853.00us`, `1.23ms`, `1.00s`, `2.00m`) in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1e3,
        "ms" => number,
        "s" => number * 1e3,
        "m" => number * 60e3,
        _ => return None,
    })
}

fn parse(output: &str) -> anyhow::Result<Load> {
    if let Some(line) = output
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses"))
    {
        bail!("some requests failed: {}", line.trim());
    }
    let percentile = |p: &str| {
        output
            .lines()
            .map(str::split_whitespace)
            .find_map(|mut words| (words.next() == Some(p)).then(|| words.next()).flatten())
            .and_then(millis)
            .with_context(|| format!("no {p} latency in wrk's output:\n{output}"))
    };
    let requests_per_second = output
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk's output:\n{output}"))?;
    Ok(Load {
        p50_ms: percentile("50%")?,
        p99_ms: percentile("99%")?,
        requests_per_second,
    })
}

fn wrk(
    setup: &Setup,
    url: &str,
    script: Option<&std::path::Path>,
    bearer: Option<&str>,
) -> anyhow::Result<Load> {
    let seconds = if setup.quick { 1 } else { 10 };
    let mut command = Command::new("wrk");
    command.args([
        "--threads",
        "2",
        "--connections",
        &CONNECTIONS.to_string(),
        "--duration",
        &format!("{seconds}s"),
        "--latency",
    ]);
    if let Some(script) = script {
        command.arg("--script").arg(script);
    }
    if let Some(bearer) = bearer {
        command.args(["--header", &format!("Authorization: {bearer}")]);
    }
    let output = command
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .context("running wrk (bench/run.sh installs it)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {}\n{text}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&text)
}

#[derive(Default)]
struct Runs {
    p50: Vec<f64>,
    p99: Vec<f64>,
    rate: Vec<f64>,
}

impl Runs {
    fn push(&mut self, load: Load) {
        self.p50.push(load.p50_ms);
        self.p99.push(load.p99_ms);
        self.rate.push(load.requests_per_second);
    }
}

pub async fn run(setup: &Setup, server: &LocalServer) -> anyhow::Result<Section> {
    let body = json!({
        "recipients": ["bob@example.com"],
        "subject": "Load",
        "files": [{"name": "a.pdf", "size": 1000, "content_type": "application/pdf",
                   "md5": "1B2M2Y8AsgTpgAmY7PhCfg=="}],
    });
    let script = setup.scratch.join("create-transfer.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ),
    )?;
    let created = server
        .client
        .post(server.api("/transfers"))
        .header("authorization", server.bearer())
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json::<serde_json::Value>()
        .await?;
    let tid = created["id"].as_str().context("no transfer id")?;
    let bearer = server.bearer();
    let (mut health, mut create, mut get) = (Runs::default(), Runs::default(), Runs::default());
    for _ in 0..setup.runs(3, 1) {
        health.push(wrk(setup, &server.api("/health"), None, None)?);
        create.push(wrk(
            setup,
            &server.api("/transfers"),
            Some(&script),
            Some(&bearer),
        )?);
        get.push(wrk(
            setup,
            &server.api(&format!("/transfers/{tid}")),
            None,
            Some(&bearer),
        )?);
    }
    let base = "GET /api/v1/health";
    let mut rows = Vec::new();
    for (name, runs) in [
        ("POST /api/v1/transfers", &create),
        ("GET /api/v1/transfers/{tid}", &get),
    ] {
        rows.push(
            Row::new(
                format!("{name}: p50"),
                Figure::new(&runs.p50, Unit::Milliseconds),
            )
            .against(base, Figure::new(&health.p50, Unit::Milliseconds)),
        );
        rows.push(
            Row::new(
                format!("{name}: p99"),
                Figure::new(&runs.p99, Unit::Milliseconds),
            )
            .against(base, Figure::new(&health.p99, Unit::Milliseconds)),
        );
        rows.push(
            Row::new(
                format!("{name}: throughput"),
                Figure::new(&runs.rate, Unit::RequestsPerSecond),
            )
            .against(base, Figure::new(&health.rate, Unit::RequestsPerSecond)),
        );
    }
    Ok(Section {
        title: "API throughput of ferry-local".into(),
        method: format!(
            "wrk (2 threads, {CONNECTIONS} connections, keep-alive, {} s per run, `--latency`) \
             against a ferry-local {} on the same 2 cores, signed in as a member: \
             creating a transfer of one file (each request commits a transfer to SQLite and \
             presigns its upload), and reading one transfer. Rate limits are raised out of the \
             way. The baseline is the health check under the same load: the cost of HTTP, \
             routing and the answer alone. p50 and p99 are wrk's latency distribution; the \
             load tool shares the CPU with the server.",
            if setup.quick { 1 } else { 10 },
            setup.ferry_local_build()
        ),
        rows,
        notes: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_latency_distribution() {
        let output = "Running 1s test @ http://127.0.0.1:1/api/v1/health
  2 threads and 16 connections
  Latency Distribution
     50%  853.00us
     75%    1.10ms
     90%    1.50ms
     99%    3.25ms
  12345 requests in 1.00s, 2.00MB read
Requests/sec:  12345.67
Transfer/sec:      2.00MB
";
        let load = parse(output).unwrap();
        assert_eq!(load.p50_ms, 0.853);
        assert_eq!(load.p99_ms, 3.25);
        assert_eq!(load.requests_per_second, 12345.67);
        assert!(parse(&format!("{output}  Non-2xx or 3xx responses: 3\n")).is_err());
        assert_eq!(millis("1.00s"), Some(1000.0));
    }
}
