//! Package sizes: each function's `bootstrap` zipped as `sam deploy` uploads it.

use crate::Setup;
use crate::report::{Figure, Row, Section, Unit};
use std::io::Write;
use zip::write::SimpleFileOptions;

pub const FUNCTIONS: [&str; 8] = [
    "presign-upload",
    "recipient-access",
    "admin-users",
    "validate-on-s3-event",
    "textract-worker",
    "notify-target",
    "transfer-and-purge",
    "sign-in-trail",
];

/// The size of a deflated ZIP holding `bootstrap` alone, in bytes.
fn zipped(bootstrap: &[u8]) -> anyhow::Result<u64> {
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    archive.start_file(
        "bootstrap",
        SimpleFileOptions::default().unix_permissions(0o755),
    )?;
    archive.write_all(bootstrap)?;
    Ok(archive.finish()?.into_inner().len() as u64)
}

pub fn run(setup: &Setup) -> anyhow::Result<Section> {
    let mut rows = Vec::new();
    for name in FUNCTIONS {
        let bootstrap = std::fs::read(setup.bootstrap(name)?)?;
        let kib = |bytes: u64| bytes as f64 / 1024.0;
        rows.push(Row::new(
            format!("{name}: zipped"),
            Figure::new(&[kib(zipped(&bootstrap)?)], Unit::KiB),
        ));
        rows.push(Row::new(
            format!("{name}: bootstrap"),
            Figure::new(&[kib(bootstrap.len() as u64)], Unit::KiB),
        ));
    }
    Ok(Section {
        title: "Package sizes".into(),
        method: format!(
            "Each function's `bootstrap` ({}) deflated into a ZIP of its own, as SAM packages \
             it. Lambda's limit is 50 MiB zipped; the Python baseline ships no package of its \
             own worth comparing (boto3 comes with the runtime).",
            setup.bootstrap_origin()
        ),
        rows,
        notes: vec![],
    })
}
