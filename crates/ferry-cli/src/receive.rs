//! `ferry receive LINK`: what a recipient's script does with the emailed link. It asks for the
//! emailed code, downloads every ready document, checks each file it wrote against the MD5 and
//! SHA-256 the server verified on arrival, and with `--confirm` sends the receipt, after which
//! the server purges the documents.

use crate::api::{Access, Api, Document, Transfer};
use crate::auth::{TokenSource, api_url};
use crate::failure::Failure;
use crate::progress::Progress;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

pub struct ReceiveRequest {
    pub link: String,
    pub out: PathBuf,
    pub code: Option<String>,
    pub confirm: bool,
}

/// What the files were written as.
pub struct Received {
    pub transfer: Transfer,
    pub files: Vec<PathBuf>,
}

/// The portal and the token of `{portal}/r/{token}`.
fn split_link(link: &str) -> anyhow::Result<(String, String)> {
    let refused = || Failure::Refused(format!("'{link}' is not a Ferry access link (…/r/TOKEN)"));
    let url = url::Url::parse(link.trim()).map_err(|_| refused())?;
    let path = url.path();
    let at = path.rfind("/r/").ok_or_else(refused)?;
    let token = &path[at + 3..];
    if token.is_empty() || token.contains('/') {
        return Err(refused().into());
    }
    let mut portal = url.clone();
    portal.set_path(&path[..at]);
    portal.set_query(None);
    portal.set_fragment(None);
    Ok((
        portal.as_str().trim_end_matches('/').to_owned(),
        token.to_owned(),
    ))
}

/// A document's name as a file name in the output directory: no directories, nothing hidden,
/// nothing a shell or a file system could read as something else.
fn safe_file_name(document: &Document) -> String {
    let base = document.name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        document.id.clone()
    } else {
        cleaned
    }
}

fn read_code() -> anyhow::Result<String> {
    eprint!("The code emailed to you: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let code = line.trim().to_owned();
    if code.is_empty() {
        return Err(Failure::Refused("no code was given".into()).into());
    }
    Ok(code)
}

async fn download(
    api: &Api,
    transfer: &Transfer,
    document: &Document,
    out: &Path,
    progress: &Progress,
) -> anyhow::Result<PathBuf> {
    let name = safe_file_name(document);
    let destination = out.join(&name);
    if destination.exists() {
        return Err(Failure::Refused(format!(
            "{} exists already; nothing was overwritten",
            destination.display()
        ))
        .into());
    }
    let url = api.download_url(&transfer.id, &document.id).await?;
    let response = api
        .http()
        .get(&url)
        .send()
        .await
        .map_err(crate::api::unreachable)?;
    if !response.status().is_success() {
        return Err(Failure::Unavailable(format!(
            "storage answered {} for {name}",
            response.status()
        ))
        .into());
    }
    let bar = progress.file("receiving", &name, document.size);
    let mut temporary = tempfile::NamedTempFile::new_in(out)?;
    let (mut md5, mut sha256) = (Md5::new(), Sha256::new());
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(crate::api::unreachable)?;
        md5.update(&chunk);
        sha256.update(&chunk);
        temporary.write_all(&chunk)?;
        bar.advance(chunk.len() as u64);
    }
    temporary.as_file().sync_all()?;
    let md5 = STANDARD.encode(md5.finalize());
    let sha256 = hex::encode(sha256.finalize());
    // The temporary file is deleted when it is dropped here.
    if Some(&md5) != document.md5.as_ref() {
        return Err(Failure::Rejected(format!(
            "{name}: the bytes received do not match their MD5"
        ))
        .into());
    }
    if document.sha256.as_deref().is_some_and(|s| s != sha256) {
        return Err(Failure::Rejected(format!(
            "{name}: the bytes received do not match their SHA-256"
        ))
        .into());
    }
    temporary
        .persist_noclobber(&destination)
        .map_err(|e| Failure::Refused(format!("{}: {}", destination.display(), e.error)))?;
    bar.finish("received, MD5 and SHA-256 verified");
    Ok(destination)
}

pub async fn receive(
    http: &reqwest::Client,
    request: &ReceiveRequest,
    progress: &Progress,
) -> anyhow::Result<Received> {
    let (portal, link_token) = split_link(&request.link)?;
    let api_url = api_url(http, &portal).await?;
    let access = Access {
        http,
        api_url: &api_url,
    };
    let code = match &request.code {
        Some(code) => code.clone(),
        None => {
            access.request_code(&link_token).await?;
            read_code()?
        }
    };
    let grant = access.verify(&link_token, &code).await?;
    let api = Api::new(
        http.clone(),
        &api_url,
        TokenSource::Recipient(grant.access_token),
    );
    let transfer = api.transfer(&grant.transfer_id).await?;
    std::fs::create_dir_all(&request.out)?;
    let mut files = Vec::new();
    for document in transfer.documents.iter().filter(|d| d.status == "ready") {
        files.push(download(&api, &transfer, document, &request.out, progress).await?);
    }
    let skipped = transfer
        .documents
        .iter()
        .filter(|d| d.status != "ready")
        .count();
    if skipped > 0 {
        progress.note(&format!("{skipped} document(s) not ready were left out"));
    }
    let transfer = if request.confirm {
        let confirmed = api.confirm_receipt(&transfer.id).await?;
        progress.note("receipt confirmed: the server purges the documents");
        confirmed
    } else {
        transfer
    };
    Ok(Received { transfer, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_give_their_portal_and_token() {
        assert_eq!(
            split_link("https://ferry.example.org/r/abc_-123").unwrap(),
            ("https://ferry.example.org".into(), "abc_-123".into())
        );
        assert_eq!(
            split_link("http://127.0.0.1:8080/sub/r/tok?x=1").unwrap(),
            ("http://127.0.0.1:8080/sub".into(), "tok".into())
        );
        assert!(split_link("https://ferry.example.org/transfers/x").is_err());
        assert!(split_link("not a link").is_err());
    }

    #[test]
    fn document_names_cannot_leave_the_output_directory() {
        let doc = |name: &str| Document {
            id: "d-1".into(),
            name: name.into(),
            size: 1,
            md5: None,
            sha256: None,
            status: "ready".into(),
            reason: None,
            upload: None,
        };
        assert_eq!(safe_file_name(&doc("../../etc/passwd")), "passwd");
        assert_eq!(safe_file_name(&doc("..\\boot.ini")), "boot.ini");
        assert_eq!(safe_file_name(&doc(".bashrc")), "bashrc");
        assert_eq!(safe_file_name(&doc("..")), "d-1");
        assert_eq!(safe_file_name(&doc("a\nb.txt")), "a_b.txt");
        assert_eq!(safe_file_name(&doc("report 2026.pdf")), "report 2026.pdf");
    }
}
