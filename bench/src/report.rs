//! BENCHMARKS.md: what was measured, how, on what, and each figure beside its baseline.

use crate::stats::Summary;
use std::fmt::Write;

#[derive(Clone, Copy, Debug)]
pub enum Unit {
    Milliseconds,
    Microseconds,
    Seconds,
    MiB,
    KiB,
    MiBPerSecond,
    RequestsPerSecond,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Self::Milliseconds => format!("{value:.1} ms"),
            Self::Microseconds => format!("{value:.1} µs"),
            Self::Seconds => format!("{value:.2} s"),
            Self::MiB => format!("{value:.1} MiB"),
            Self::KiB => format!("{value:.0} KiB"),
            Self::MiBPerSecond => format!("{value:.0} MiB/s"),
            Self::RequestsPerSecond => format!("{value:.0} req/s"),
        }
    }
}

/// One measured figure: a summary of runs, or a single value.
#[derive(Clone, Debug)]
pub struct Figure {
    pub summary: Summary,
    pub unit: Unit,
}

impl Figure {
    pub fn new(values: &[f64], unit: Unit) -> Self {
        Self {
            summary: Summary::of(values),
            unit,
        }
    }

    fn cell(&self) -> String {
        let s = &self.summary;
        if s.runs == 1 {
            format!("{} (1 run)", self.unit.format(s.median))
        } else {
            format!(
                "{} ({} – {}, {} runs)",
                self.unit.format(s.median),
                self.unit.format(s.min),
                self.unit.format(s.max),
                s.runs
            )
        }
    }
}

/// A target a figure must meet: a bound on the ratio of Ferry's median to the baseline's, or
/// on Ferry's median itself.
#[derive(Clone, Debug)]
pub enum Target {
    RatioAtMost(f64),
    RatioAtLeast(f64),
    AtMost(f64),
}

#[derive(Clone, Debug)]
pub struct Row {
    pub figure: String,
    pub ferry: Figure,
    pub baseline: Option<(String, Figure)>,
    pub target: Option<Target>,
}

impl Row {
    pub fn new(figure: impl Into<String>, ferry: Figure) -> Self {
        Self {
            figure: figure.into(),
            ferry,
            baseline: None,
            target: None,
        }
    }

    pub fn against(mut self, name: impl Into<String>, baseline: Figure) -> Self {
        self.baseline = Some((name.into(), baseline));
        self
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        let (_, baseline) = self.baseline.as_ref()?;
        Some(self.ferry.summary.median / baseline.summary.median)
    }

    /// Whether the target is met; `None` without a target.
    pub fn met(&self) -> Option<bool> {
        Some(match self.target.as_ref()? {
            Target::RatioAtMost(bound) => self.ratio()? <= *bound,
            Target::RatioAtLeast(bound) => self.ratio()? >= *bound,
            Target::AtMost(bound) => self.ferry.summary.median <= *bound,
        })
    }

    fn target_cell(&self) -> String {
        let Some(target) = &self.target else {
            return String::new();
        };
        let bound = match target {
            Target::RatioAtMost(b) => format!("ratio ≤ {}", fraction(*b)),
            Target::RatioAtLeast(b) => format!("ratio ≥ {}", fraction(*b)),
            Target::AtMost(b) => format!("≤ {}", self.ferry.unit.format(*b)),
        };
        match self.met() {
            Some(true) => format!("{bound}: met"),
            Some(false) => format!("{bound}: **not met**"),
            None => bound,
        }
    }
}

fn fraction(value: f64) -> String {
    if value < 1.0 && (1.0 / value).fract().abs() < 1e-9 {
        format!("1/{}", (1.0 / value).round())
    } else {
        format!("{value}")
    }
}

#[derive(Clone, Debug, Default)]
pub struct Section {
    pub title: String,
    pub method: String,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

pub struct Header {
    pub mode: &'static str,
    pub command: String,
    pub machine: Vec<(String, String)>,
}

pub fn render(header: &Header, sections: &[Section]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Ferry benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `{}` ({} mode). Every figure below comes from that one command; each is the \
         median of its runs with the smallest and largest in brackets, beside the baseline \
         measured in the same run on the same machine. The ratio is Ferry's median over the \
         baseline's.\n",
        header.command, header.mode
    );
    let _ = writeln!(out, "| | |\n|---|---|");
    for (name, value) in &header.machine {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    let missed: Vec<String> = sections
        .iter()
        .flat_map(|s| &s.rows)
        .filter(|r| r.met() == Some(false))
        .map(|r| r.figure.clone())
        .collect();
    let targets = sections
        .iter()
        .flat_map(|s| &s.rows)
        .filter(|r| r.target.is_some())
        .count();
    let _ = writeln!(
        out,
        "\nTargets met: {} of {targets}{}.",
        targets - missed.len(),
        if missed.is_empty() {
            String::new()
        } else {
            format!(" (not met: {})", missed.join("; "))
        }
    );
    for section in sections {
        let _ = writeln!(out, "\n## {}\n\n{}\n", section.title, section.method.trim());
        let _ = writeln!(
            out,
            "| figure | Ferry | baseline | baseline's figure | ratio | target |\n|---|---|---|---|---|---|"
        );
        for row in &section.rows {
            let (name, baseline) = row
                .baseline
                .as_ref()
                .map(|(n, f)| (n.clone(), f.cell()))
                .unwrap_or_default();
            let ratio = row.ratio().map(|r| format!("{r:.3}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.figure,
                row.ferry.cell(),
                name,
                baseline,
                ratio,
                row.target_cell()
            );
        }
        for note in &section.notes {
            let _ = writeln!(out, "\n{}", note.trim());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_compare_medians() {
        let row = Row::new("init", Figure::new(&[10.0, 12.0, 11.0], Unit::Milliseconds))
            .against("python", Figure::new(&[200.0], Unit::Milliseconds))
            .target(Target::RatioAtMost(0.1));
        assert_eq!(row.ratio(), Some(11.0 / 200.0));
        assert_eq!(row.met(), Some(true));
        let slow = Row::new("upload", Figure::new(&[1.0], Unit::MiBPerSecond))
            .against("cp", Figure::new(&[4.0], Unit::MiBPerSecond))
            .target(Target::RatioAtLeast(0.5));
        assert_eq!(slow.met(), Some(false));
        let text = render(
            &Header {
                mode: "quick",
                command: "bench/run.sh".into(),
                machine: vec![("cores".into(), "2".into())],
            },
            &[Section {
                title: "Cold start".into(),
                method: "How.".into(),
                rows: vec![row, slow],
                notes: vec![],
            }],
        );
        assert!(text.contains("| init | 11.0 ms (10.0 ms – 12.0 ms, 3 runs) | python |"));
        assert!(text.contains("ratio ≤ 1/10: met"));
        assert!(text.contains("Targets met: 1 of 2 (not met: upload)"));
    }
}
