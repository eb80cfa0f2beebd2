//! What the commands print for people (stdout: results; stderr: notes) and for programs.

use crate::api::Transfer;
use crate::progress::Progress;
use indicatif::HumanBytes;

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn document_line(d: &crate::api::Document) -> String {
    let reason = d
        .reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    format!(
        "  {:<16} {:>10}  {}{reason}",
        d.status,
        HumanBytes(d.size).to_string(),
        d.name
    )
}

/// After `send --wait`: each document's outcome, on stderr.
pub fn documents(transfer: &Transfer, progress: &Progress) {
    progress.note(&format!("transfer {} is {}", transfer.id, transfer.status));
    for d in &transfer.documents {
        progress.note(&document_line(d));
    }
}

pub fn status(transfer: &Transfer) {
    println!("{}  {}  {}", transfer.id, transfer.status, transfer.subject);
    println!(
        "  created {}, expires {}",
        transfer.created_at, transfer.expires_at
    );
    for r in &transfer.recipients {
        println!("  to {:<40} {}", r.email, r.status);
    }
    for d in &transfer.documents {
        println!("{}", document_line(d));
    }
}

pub fn list(transfers: &[Transfer]) {
    for t in transfers {
        println!(
            "{}  {:<10} {}  {} document(s)  {}",
            t.id,
            t.status,
            t.created_at,
            t.documents.len(),
            t.subject
        );
    }
}
