//! The use cases end to end over the in-memory adapters.

use super::transfers::{Mailbox, NewFile, NewTransfer};
use super::{Ferry, Ports};
use crate::audit::AuditQuery;
use crate::auth::jwks::{JwksCache, JwksFetcher};
use crate::auth::oidc::{OidcConfig, OidcVerifier};
use crate::auth::recipient::RecipientTokens;
use crate::auth::{AuthUser, Caller};
use crate::config::Settings;
use crate::error::Error;
use crate::ids::{TransferId, UserId};
use crate::memory::*;
use crate::model::{
    DocumentStatus, Engine, RecipientStatus, RejectReason, Transfer, TransferStatus,
};
use crate::native::NativeExtractor;
use crate::ports::{Catalog, CompletedPart, Job, object_key};
use crate::values::{ContentMd5, EmailAddress, Role};
use async_trait::async_trait;
use base64::Engine as _;
use chrono::{Duration, Utc};
use md5::{Digest, Md5};
use std::sync::Arc;

struct NoKeys;

#[async_trait]
impl JwksFetcher for NoKeys {
    async fn fetch(&self) -> anyhow::Result<jsonwebtoken::jwk::JwkSet> {
        Ok(jsonwebtoken::jwk::JwkSet { keys: vec![] })
    }
}

struct Harness {
    ferry: Ferry,
    store: Arc<MemoryStore>,
    inbox: Arc<MemoryInbox>,
    directory: Arc<MemoryDirectory>,
    catalog: Arc<MemoryCatalog>,
    queue: Arc<MemoryQueue>,
    mailer: Arc<MemoryMailer>,
    clock: Arc<ManualClock>,
    sender: AuthUser,
}

fn md5_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(bytes))
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde\0\0\0\x0cIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";
const TEXT: &[u8] = b"Quarterly figures\nRevenue rose by 12 percent.\n";

impl Harness {
    fn new() -> Self {
        let store = Arc::new(MemoryStore::default());
        let catalog = Arc::new(MemoryCatalog::default());
        let queue = Arc::new(MemoryQueue::default());
        let mailer = Arc::new(MemoryMailer::default());
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let directory = Arc::new(MemoryDirectory::default());
        let inbox = Arc::new(MemoryInbox::new(store.clone(), queue.clone()));
        let ports = Ports {
            store: store.clone(),
            inbox: inbox.clone(),
            catalog: catalog.clone(),
            queue: queue.clone(),
            mailer: mailer.clone(),
            users: directory.clone(),
            clients: directory.clone(),
            extractor: Arc::new(NativeExtractor::new(store.clone(), Default::default())),
            deliverer: Arc::new(MemoryDeliverer::default()),
            clock: clock.clone(),
        };
        let mut settings = Settings::new("https://ferry.example.org");
        settings.limits.single_put_max_bytes = 1024;
        settings.limits.part_size = 1024;
        let oidc = OidcVerifier::new(
            OidcConfig {
                issuer: "https://issuer.example".into(),
                audience: "ferry-web".into(),
                ..OidcConfig::default()
            },
            Arc::new(JwksCache::new(
                Arc::new(NoKeys),
                std::time::Duration::from_secs(30),
            )),
        );
        let tokens = RecipientTokens::new(&[7; 32], Duration::minutes(30));
        Self {
            ferry: Ferry::new(ports, settings, tokens, oidc),
            store,
            inbox,
            directory,
            catalog,
            queue,
            mailer,
            clock,
            sender: AuthUser {
                id: UserId::parse("alice").unwrap(),
                email: EmailAddress::parse("alice@example.org").unwrap(),
                name: "Alice".into(),
                roles: vec![Role::Member],
            },
        }
    }

    fn sender_caller(&self) -> Caller {
        Caller::User(self.sender.clone())
    }

    async fn create(&self, files: &[(&str, &[u8], &str)]) -> Transfer {
        self.ferry
            .create_transfer(
                &self.sender,
                NewTransfer {
                    recipients: vec!["bob@example.com".into()],
                    subject: "Figures".into(),
                    message: Some("As promised.".into()),
                    expires_in_hours: None,
                    files: files
                        .iter()
                        .map(|(name, bytes, ct)| NewFile {
                            name: (*name).into(),
                            size: bytes.len() as u64,
                            content_type: (*ct).into(),
                            md5: Some(md5_b64(bytes)),
                        })
                        .collect(),
                },
                None,
            )
            .await
            .unwrap()
    }

    /// The client's PUT and the storage event that follows it.
    async fn upload(&self, t: &Transfer, index: usize, bytes: &[u8]) {
        let key = object_key(t.id, t.documents[index].id);
        self.store.put_object(&key, bytes.to_vec());
        self.queue.enqueue_now(Job::ObjectCreated { key }).await;
    }

    async fn drain(&self) {
        let mut guard = 0;
        while let Some(job) = self.queue.pop() {
            self.ferry.handle_job(&job).await.unwrap();
            guard += 1;
            assert!(guard < 1000, "the pipeline does not settle");
        }
    }

    async fn get(&self, id: TransferId) -> Transfer {
        self.ferry.load(id).await.unwrap()
    }

    fn mails_to(&self, to: &str) -> Vec<crate::ports::OutgoingMail> {
        self.mailer
            .sent()
            .into_iter()
            .filter(|m| m.to.as_str() == to)
            .collect()
    }

    fn link_token(&self) -> String {
        let invite = self
            .mails_to("bob@example.com")
            .into_iter()
            .find(|m| m.idempotency_key.starts_with("invite:"))
            .unwrap();
        let at = invite.text.find("/r/").unwrap() + 3;
        invite.text[at..at + 43].to_owned()
    }

    async fn code(&self, token: &str) -> String {
        self.ferry.request_code(token, None).await.unwrap();
        let mail = self
            .mails_to("bob@example.com")
            .into_iter()
            .rfind(|m| m.subject.starts_with("Your Ferry code"))
            .unwrap();
        mail.subject.rsplit(' ').next().unwrap().to_owned()
    }
}

impl MemoryQueue {
    async fn enqueue_now(&self, job: Job) {
        crate::ports::WorkQueue::enqueue(self, &job, std::time::Duration::ZERO)
            .await
            .unwrap();
    }
}

mod drop_folders;

#[tokio::test]
async fn upload_validate_extract_notify_receive_purge() {
    let h = Harness::new();
    let t = h
        .create(&[
            ("figures.txt", TEXT, "text/plain"),
            ("logo.png", PNG, "image/png"),
        ])
        .await;
    assert_eq!(t.status, TransferStatus::Uploading);
    h.upload(&t, 0, TEXT).await;
    h.upload(&t, 1, PNG).await;
    h.drain().await;

    let t = h.get(t.id).await;
    assert_eq!(t.status, TransferStatus::Sent);
    let text_doc = &t.documents[0];
    assert_eq!(text_doc.status, DocumentStatus::Ready);
    assert_eq!(text_doc.engine, Some(Engine::Native));
    assert_eq!(
        text_doc.text_preview.as_deref(),
        Some("Quarterly figures Revenue rose by 12 percent.")
    );
    assert_eq!(
        text_doc.sha256.as_deref(),
        Some(hex::encode(sha2::Sha256::digest(TEXT)).as_str())
    );
    assert_eq!(
        t.documents[1].engine,
        Some(Engine::None),
        "images wait for Textract on AWS"
    );
    assert_eq!(t.recipients[0].status, RecipientStatus::Notified);
    assert_eq!(h.mails_to("bob@example.com").len(), 1);
    assert_eq!(h.mails_to("alice@example.org").len(), 1);

    // A replayed storage event changes nothing and emails nobody again.
    h.upload(&t, 0, TEXT).await;
    h.drain().await;
    assert_eq!(h.mailer.sent().len(), 2);

    let token = h.link_token();
    let code = h.code(&token).await;
    let grant = h.ferry.verify_code(&token, &code, None).await.unwrap();
    let bob = h.ferry.authenticate(&grant.access_token).await.unwrap();
    assert!(matches!(&bob, Caller::Recipient(g) if g.transfer_id == t.id));
    let url = h
        .ferry
        .download_url(&bob, t.id, t.documents[0].id, None)
        .await
        .unwrap();
    assert!(url.contains(&t.documents[0].id.to_string()));
    let text = h
        .ferry
        .document_text(&bob, t.id, t.documents[0].id, None)
        .await
        .unwrap();
    assert_eq!(text.pages.len(), 1);
    assert!(text.pages[0].contains("Revenue rose"));

    let done = h.ferry.confirm_receipt(&bob, t.id, None).await.unwrap();
    assert_eq!(done.status, TransferStatus::Completed);
    assert!(done.content_deleted);
    assert!(
        h.store.keys().is_empty(),
        "every byte and text is gone: {:?}",
        h.store.keys()
    );
    assert!(
        done.documents
            .iter()
            .all(|d| d.status == DocumentStatus::Purged && d.text_preview.is_none())
    );
    assert!(matches!(
        h.ferry
            .download_url(&bob, t.id, t.documents[0].id, None)
            .await,
        Err(Error::Gone(_))
    ));
    assert!(
        matches!(
            h.ferry.request_code(&token, None).await,
            Err(Error::NotFound(_))
        ),
        "links die with the transfer"
    );
    let actions = h.catalog.audit_actions(t.id);
    for action in [
        "transfer.created",
        "document.validated",
        "document.ready",
        "recipient.notified",
        "access.verified",
        "document.downloaded",
        "recipient.received",
        "transfer.purged",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn bad_bytes_are_rejected_and_deleted() {
    let h = Harness::new();
    let exe =
        b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run in DOS mode".to_vec();
    let t = h
        .create(&[
            ("report.pdf", &exe, "application/pdf"),
            ("figures.txt", TEXT, "text/plain"),
            ("logo.png", PNG, "application/pdf"),
        ])
        .await;
    h.upload(&t, 0, &exe).await;
    h.upload(&t, 1, b"Quarterly figures\nRevenue fell by 12 percent.\n")
        .await;
    h.upload(&t, 2, PNG).await;
    h.drain().await;
    let t = h.get(t.id).await;
    assert_eq!(t.documents[0].reason, Some(RejectReason::TypeNotAllowed));
    assert_eq!(t.documents[1].reason, Some(RejectReason::ChecksumMismatch));
    assert_eq!(t.documents[2].reason, Some(RejectReason::TypeMismatch));
    assert!(
        h.store.keys().is_empty(),
        "rejected bytes are deleted at once"
    );
    assert_eq!(t.status, TransferStatus::Cancelled);
    assert!(
        h.mails_to("bob@example.com").is_empty(),
        "nothing to send, nobody emailed"
    );
    let receipt = &h.mails_to("alice@example.org")[0];
    assert!(receipt.subject.starts_with("Not sent"));
    assert!(receipt.text.contains("does not match its declared type"));
}

#[tokio::test]
async fn bytes_sent_again_to_a_rejected_document_are_deleted() {
    let h = Harness::new();
    let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run".to_vec();
    let t = h
        .create(&[
            ("tool.txt", &exe, "text/plain"),
            ("figures.txt", TEXT, "text/plain"),
        ])
        .await;
    h.upload(&t, 0, &exe).await;
    h.upload(&t, 1, TEXT).await;
    h.drain().await;
    let rejected_key = object_key(t.id, t.documents[0].id);
    assert_eq!(h.get(t.id).await.status, TransferStatus::Sent);
    assert!(!h.store.keys().contains(&rejected_key));
    h.upload(&t, 0, &exe).await;
    h.drain().await;
    assert!(
        !h.store.keys().contains(&rejected_key),
        "a second upload of refused bytes does not stay either"
    );
    assert!(
        h.store
            .keys()
            .contains(&object_key(t.id, t.documents[1].id))
    );
}

#[tokio::test]
async fn a_purge_cut_short_is_finished_by_its_queued_check() {
    let h = Harness::new();
    let t = h.create(&[("figures.txt", TEXT, "text/plain")]).await;
    h.upload(&t, 0, TEXT).await;
    h.drain().await;
    assert!(!h.store.keys().is_empty());
    // The process died right after saving the end of the transfer, before deleting anything.
    let mut ended = h.get(t.id).await;
    assert!(ended.finish(TransferStatus::Cancelled, Utc::now()));
    h.catalog.save_transfer(&ended).await.unwrap();
    h.ferry
        .handle_job(&Job::Purge { transfer_id: t.id })
        .await
        .unwrap();
    let t = h.get(t.id).await;
    assert!(t.content_deleted);
    assert!(h.store.keys().is_empty(), "every byte and text is gone");
}

#[tokio::test]
async fn jobs_that_fail_every_retry_are_settled_not_dropped() {
    let h = Harness::new();
    let t = h
        .create(&[
            ("figures.txt", TEXT, "text/plain"),
            ("notes.txt", b"Some notes\n", "text/plain"),
        ])
        .await;
    // Validation of the first document never succeeded: its bytes go, it is rejected.
    let key = object_key(t.id, t.documents[0].id);
    h.store.put_object(&key, TEXT.to_vec());
    h.ferry
        .abandon_job(&Job::ObjectCreated { key: key.clone() })
        .await
        .unwrap();
    assert!(!h.store.keys().contains(&key));
    let doc = &h.get(t.id).await.documents[0];
    assert_eq!(doc.status, DocumentStatus::Rejected);
    assert_eq!(doc.reason, Some(RejectReason::ProcessingFailed));

    // Extraction of the second never succeeded: it is handed on without text.
    let notes = object_key(t.id, t.documents[1].id);
    h.store.put_object(&notes, b"Some notes\n".to_vec());
    h.ferry
        .handle_job(&Job::ObjectCreated { key: notes })
        .await
        .unwrap();
    assert_eq!(
        h.get(t.id).await.documents[1].status,
        DocumentStatus::Uploaded
    );
    h.ferry
        .abandon_job(&Job::Extract {
            transfer_id: t.id,
            document_id: t.documents[1].id,
        })
        .await
        .unwrap();
    h.drain().await;
    let t = h.get(t.id).await;
    assert_eq!(t.documents[1].status, DocumentStatus::Ready);
    assert_eq!(t.documents[1].engine, Some(Engine::None));
    assert_eq!(t.status, TransferStatus::Sent);
    assert_eq!(
        h.mails_to("bob@example.com").len(),
        1,
        "the recipient is told"
    );
    let receipt = &h.mails_to("alice@example.org")[0];
    assert!(
        receipt.text.contains("could not be checked"),
        "{}",
        receipt.text
    );
}

#[tokio::test]
async fn multipart_uploads_check_their_parts() {
    let h = Harness::new();
    let body: Vec<u8> = TEXT.iter().cycle().take(2500).copied().collect();
    let t = h.create(&[("big.txt", &body, "text/plain")]).await;
    let doc = &t.documents[0];
    let crate::model::UploadPlan::Multipart {
        upload_id,
        part_count,
        ..
    } = doc.upload.clone()
    else {
        panic!("multipart expected")
    };
    assert_eq!(part_count, 3);
    let caller = h.sender_caller();
    let parts: Vec<_> = body
        .chunks(1024)
        .enumerate()
        .map(|(i, c)| (i as u32 + 1, md5_b64(c)))
        .collect();
    let signed = h
        .ferry
        .sign_parts(&caller, t.id, doc.id, parts)
        .await
        .unwrap();
    assert_eq!(signed.len(), 3);
    assert!(matches!(
        h.ferry
            .sign_parts(&caller, t.id, doc.id, vec![(4, md5_b64(b"x"))])
            .await,
        Err(Error::Invalid(_))
    ));
    let etags: Vec<_> = body
        .chunks(1024)
        .enumerate()
        .map(|(i, c)| h.store.put_part(&upload_id, i as u32 + 1, c.to_vec()))
        .collect();
    let mut completed: Vec<_> = etags
        .iter()
        .enumerate()
        .map(|(i, e)| CompletedPart {
            number: i as u32 + 1,
            etag: e.clone(),
        })
        .collect();
    completed[1].etag = "\"00000000000000000000000000000000\"".into();
    assert!(matches!(
        h.ferry
            .complete_upload(&caller, t.id, doc.id, completed.clone(), None, None)
            .await,
        Err(Error::Invalid(_))
    ));
    completed[1].etag = etags[1].clone();
    let stranger = Caller::User(AuthUser {
        id: UserId::parse("eve").unwrap(),
        email: EmailAddress::parse("eve@example.com").unwrap(),
        name: "Eve".into(),
        roles: vec![Role::Member],
    });
    assert!(matches!(
        h.ferry
            .complete_upload(&stranger, t.id, doc.id, completed.clone(), None, None)
            .await,
        Err(Error::NotFound(_))
    ));
    h.ferry
        .complete_upload(&caller, t.id, doc.id, completed, Some(md5_b64(&body)), None)
        .await
        .unwrap();
    assert_eq!(
        h.store.object(&object_key(t.id, doc.id)).unwrap().len(),
        body.len()
    );
    h.queue
        .enqueue_now(Job::ObjectCreated {
            key: object_key(t.id, doc.id),
        })
        .await;
    h.drain().await;
    assert_eq!(h.get(t.id).await.documents[0].status, DocumentStatus::Ready);
}

impl Harness {
    /// A transfer of one text file of `len` bytes declared without its MD5.
    async fn create_without_md5(&self, name: &str, len: usize) -> crate::Result<Transfer> {
        self.ferry
            .create_transfer(
                &self.sender,
                NewTransfer {
                    recipients: vec!["bob@example.com".into()],
                    subject: "Hashed on the way".into(),
                    message: None,
                    expires_in_hours: None,
                    files: vec![NewFile {
                        name: name.into(),
                        size: len as u64,
                        content_type: "text/plain".into(),
                        md5: None,
                    }],
                },
                None,
            )
            .await
    }

    /// Every part of `body` PUT to the document's multipart upload, as the client would.
    fn put_all_parts(&self, doc: &crate::model::Document, body: &[u8]) -> Vec<CompletedPart> {
        let crate::model::UploadPlan::Multipart { upload_id, .. } = &doc.upload else {
            panic!("multipart expected")
        };
        body.chunks(1024)
            .enumerate()
            .map(|(i, c)| CompletedPart {
                number: i as u32 + 1,
                etag: self.store.put_part(upload_id, i as u32 + 1, c.to_vec()),
            })
            .collect()
    }

    async fn validate(&self, t: &Transfer, index: usize) -> crate::model::Document {
        let key = object_key(t.id, t.documents[index].id);
        self.queue.enqueue_now(Job::ObjectCreated { key }).await;
        self.drain().await;
        self.get(t.id).await.documents[index].clone()
    }
}

#[tokio::test]
async fn a_multipart_file_may_declare_its_md5_when_completed() {
    let h = Harness::new();
    let body: Vec<u8> = TEXT.iter().cycle().take(2500).copied().collect();
    // A single-request upload is signed with its MD5: it must come at once.
    let small = h.create_without_md5("small.txt", 10).await;
    assert!(
        matches!(&small, Err(Error::Invalid(d)) if d.starts_with("files[0]: md5: required")),
        "{:?}",
        small.err()
    );
    let t = h.create_without_md5("big.txt", body.len()).await.unwrap();
    let doc = &t.documents[0];
    assert_eq!(doc.md5, None);
    let completed = h.put_all_parts(doc, &body);
    let caller = h.sender_caller();
    let without = h
        .ferry
        .complete_upload(&caller, t.id, doc.id, completed.clone(), None, None)
        .await;
    assert!(
        matches!(&without, Err(Error::Invalid(d)) if d.contains("MD5 is required")),
        "{:?}",
        without.err()
    );
    assert!(h.store.object(&object_key(t.id, doc.id)).is_none());
    h.ferry
        .complete_upload(&caller, t.id, doc.id, completed, Some(md5_b64(&body)), None)
        .await
        .unwrap();
    let doc = h.validate(&t, 0).await;
    assert_eq!(doc.md5, Some(ContentMd5::parse(&md5_b64(&body)).unwrap()));
    assert_eq!(doc.status, DocumentStatus::Ready);
}

#[tokio::test]
async fn a_multipart_file_completed_with_a_wrong_md5_is_rejected() {
    let h = Harness::new();
    let body: Vec<u8> = TEXT.iter().cycle().take(2048).copied().collect();
    let t = h.create_without_md5("big.txt", body.len()).await.unwrap();
    let completed = h.put_all_parts(&t.documents[0], &body);
    let wrong = Some(md5_b64(b"other bytes"));
    h.ferry
        .complete_upload(
            &h.sender_caller(),
            t.id,
            t.documents[0].id,
            completed,
            wrong,
            None,
        )
        .await
        .unwrap();
    let doc = h.validate(&t, 0).await;
    assert_eq!(doc.status, DocumentStatus::Rejected);
    assert_eq!(doc.reason, Some(RejectReason::ChecksumMismatch));
}

#[tokio::test]
async fn five_wrong_codes_lock_the_link() {
    let h = Harness::new();
    let t = h.create(&[("figures.txt", TEXT, "text/plain")]).await;
    h.upload(&t, 0, TEXT).await;
    h.drain().await;
    let token = h.link_token();
    let code = h.code(&token).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..5).rev() {
        match h.ferry.verify_code(&token, wrong, None).await {
            Err(Error::Unauthenticated(d)) => {
                assert!(d.contains(&format!("{left} attempt")), "{d}")
            }
            other => panic!("expected a wrong-code error, got {other:?}"),
        }
    }
    assert!(matches!(
        h.ferry.verify_code(&token, wrong, None).await,
        Err(Error::TooManyRequests { .. })
    ));
    // Locked: even the right code and new codes are refused for a while.
    assert!(matches!(
        h.ferry.verify_code(&token, &code, None).await,
        Err(Error::TooManyRequests { .. })
    ));
    assert!(matches!(
        h.ferry.request_code(&token, None).await,
        Err(Error::TooManyRequests { .. })
    ));
    h.clock.advance(Duration::minutes(16));
    let code = h.code(&token).await;
    assert!(h.ferry.verify_code(&token, &code, None).await.is_ok());
    // A code works once.
    assert!(matches!(
        h.ferry.verify_code(&token, &code, None).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        h.ferry.verify_code("not-a-token", &code, None).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        h.ferry
            .verify_code(&crate::tokens::new_link_token(), &code, None)
            .await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn codes_expire_and_cannot_flood_an_inbox() {
    let h = Harness::new();
    let t = h.create(&[("figures.txt", TEXT, "text/plain")]).await;
    h.upload(&t, 0, TEXT).await;
    h.drain().await;
    let token = h.link_token();
    let code = h.code(&token).await;
    h.clock.advance(Duration::minutes(11));
    assert!(matches!(
        h.ferry.verify_code(&token, &code, None).await,
        Err(Error::Conflict(_))
    ));
    for _ in 0..4 {
        h.ferry.request_code(&token, None).await.unwrap();
    }
    assert!(matches!(
        h.ferry.request_code(&token, None).await,
        Err(Error::TooManyRequests { .. })
    ));
}

#[tokio::test]
async fn expired_transfers_are_swept_and_cancelled_ones_purged() {
    let h = Harness::new();
    let a = h.create(&[("figures.txt", TEXT, "text/plain")]).await;
    h.upload(&a, 0, TEXT).await;
    h.drain().await;
    let b = h.create(&[("logo.png", PNG, "image/png")]).await;
    h.upload(&b, 0, PNG).await;
    h.drain().await;

    let stranger = Caller::User(AuthUser {
        id: UserId::parse("eve").unwrap(),
        email: EmailAddress::parse("eve@example.com").unwrap(),
        name: "Eve".into(),
        roles: vec![Role::Member],
    });
    assert!(matches!(
        h.ferry.cancel_transfer(&stranger, b.id, None).await,
        Err(Error::NotFound(_))
    ));
    let cancelled = h
        .ferry
        .cancel_transfer(&h.sender_caller(), b.id, None)
        .await
        .unwrap();
    assert_eq!(cancelled.status, TransferStatus::Cancelled);

    assert_eq!(h.ferry.sweep_expired().await.unwrap(), 0);
    h.clock.advance(Duration::days(8));
    assert_eq!(h.ferry.sweep_expired().await.unwrap(), 1);
    assert_eq!(h.get(a.id).await.status, TransferStatus::Expired);
    assert!(h.store.keys().is_empty());
    assert_eq!(
        h.ferry.sweep_expired().await.unwrap(),
        0,
        "a purged transfer is not swept twice"
    );
    let sent = h
        .ferry
        .list_transfers(&h.sender, Mailbox::Sent)
        .await
        .unwrap();
    assert_eq!(sent.len(), 2);
}

#[tokio::test]
async fn create_refuses_bad_requests_and_stores_nothing() {
    let h = Harness::new();
    let file = || NewFile {
        name: "a.pdf".into(),
        size: 10,
        content_type: "application/pdf".into(),
        md5: Some(md5_b64(b"x")),
    };
    let request = |recipients: Vec<String>, files: Vec<NewFile>| NewTransfer {
        recipients,
        subject: "s".into(),
        message: None,
        expires_in_hours: None,
        files,
    };
    let bob = || vec!["bob@example.com".to_owned()];
    let cases: Vec<(NewTransfer, &str)> = vec![
        (request(vec![], vec![file()]), "recipients"),
        (
            request(
                (0..51).map(|i| format!("r{i}@example.com")).collect(),
                vec![file()],
            ),
            "recipients",
        ),
        (
            request(vec!["not an address".into()], vec![file()]),
            "recipients",
        ),
        // A Cyrillic 'а' in the domain: a look-alike of bob@example.com.
        (
            request(vec!["bob@ex\u{430}mple.com".into()], vec![file()]),
            "xn--",
        ),
        (request(bob(), vec![]), "files"),
        (
            request(
                bob(),
                vec![NewFile {
                    md5: Some("abc".into()),
                    ..file()
                }],
            ),
            "md5",
        ),
        (request(bob(), vec![NewFile { size: 0, ..file() }]), "empty"),
        (
            request(
                bob(),
                vec![NewFile {
                    size: 6 * 1024 * 1024 * 1024,
                    ..file()
                }],
            ),
            "size",
        ),
        (
            request(
                bob(),
                vec![NewFile {
                    name: "\u{202e}".into(),
                    ..file()
                }],
            ),
            "name",
        ),
        (
            request(
                bob(),
                vec![NewFile {
                    content_type: "pdf".into(),
                    ..file()
                }],
            ),
            "content_type",
        ),
        (
            request(
                bob(),
                vec![NewFile {
                    content_type: "text/plain; charset=\"a\r\nX-Injected: 1\"".into(),
                    ..file()
                }],
            ),
            "content_type",
        ),
        (
            NewTransfer {
                subject: " ".into(),
                ..request(bob(), vec![file()])
            },
            "subject",
        ),
        (
            NewTransfer {
                expires_in_hours: Some(0),
                ..request(bob(), vec![file()])
            },
            "expires_in_hours",
        ),
    ];
    for (req, field) in cases {
        match h.ferry.create_transfer(&h.sender, req, None).await {
            Err(Error::Invalid(detail)) => {
                assert!(detail.contains(field), "{detail} should name {field}")
            }
            other => panic!("expected Invalid for {field}, got {other:?}"),
        }
    }
    assert!(
        h.ferry
            .list_transfers(&h.sender, Mailbox::Sent)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(h.store.open_uploads(), 0);
    let admin_only = AuthUser {
        roles: vec![Role::Admin],
        ..h.sender.clone()
    };
    assert!(matches!(
        h.ferry
            .create_transfer(&admin_only, request(bob(), vec![file()]), None)
            .await,
        Err(Error::Forbidden(_))
    ));
    let _ = ContentMd5::parse(&md5_b64(b"x")).unwrap();
}

fn claims(sub: &str, email: Option<&str>, groups: &[&str]) -> crate::auth::oidc::OidcClaims {
    crate::auth::oidc::OidcClaims {
        sub: sub.into(),
        email: email.map(Into::into),
        email_verified: true,
        name: Some("Kim \u{202e}Keycloak".into()),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        token_use: None,
        machine_client: None,
    }
}

#[tokio::test]
async fn a_machine_client_acts_for_its_owner_as_a_member_until_deleted() {
    use super::clients::CreateClient;
    use crate::ports::NewUser;
    let mut h = Harness::new();
    let users = h.ferry.ports.users.clone();
    let new_user = |email: &str, roles: Vec<Role>| NewUser {
        email: EmailAddress::parse(email).unwrap(),
        name: email.into(),
        roles,
        password: None,
    };
    let admin = users
        .create(new_user("root@example.org", vec![Role::Admin]))
        .await
        .unwrap();
    let admin = AuthUser {
        id: admin.id,
        email: admin.email,
        name: admin.name,
        roles: vec![Role::Admin],
    };
    let owner = users
        .create(new_user("ops@example.org", vec![Role::Admin, Role::Member]))
        .await
        .unwrap();
    let create = |name: &str, email: &str| CreateClient {
        name: name.into(),
        owner_email: email.into(),
    };

    // Only admins create clients, for enabled users that exist.
    assert!(matches!(
        h.ferry
            .create_client(&h.sender.clone(), create("x", "ops@example.org"), None)
            .await,
        Err(Error::Forbidden(_))
    ));
    let unknown = h
        .ferry
        .create_client(&admin, create("x", "nobody@example.org"), None)
        .await;
    assert!(matches!(unknown, Err(Error::Invalid(d)) if d.starts_with("owner_email")));
    let bad_name = h
        .ferry
        .create_client(&admin, create("a/b", "ops@example.org"), None)
        .await;
    assert!(matches!(bad_name, Err(Error::Invalid(d)) if d.starts_with("name")));

    let issued = h
        .ferry
        .create_client(
            &admin,
            create("nightly export", "ops@example.org"),
            Some("10.0.0.1".into()),
        )
        .await
        .unwrap();
    assert_eq!(issued.client.owner, owner.id);
    assert!(issued.secret.len() >= 43);
    let mut token = claims(&issued.client.id, None, &["admin"]);
    token.machine_client = Some(issued.client.id.clone());

    // The owner's identity, never more than a member's rights.
    let acting = h.ferry.user_from_claims(token.clone()).await.unwrap();
    assert_eq!(acting.id, owner.id);
    assert_eq!(acting.email.as_str(), "ops@example.org");
    assert_eq!(acting.roles, vec![Role::Member]);
    let listed = h.ferry.list_clients(&admin).await.unwrap();
    assert_eq!(listed, vec![issued.client.clone()]);

    // A disabled owner stops the client too.
    users
        .update(
            &owner.id,
            crate::ports::UserPatch {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let disabled = h.ferry.user_from_claims(token.clone()).await;
    assert!(matches!(disabled, Err(Error::Unauthenticated(d)) if d.contains("disabled")));
    users
        .update(
            &owner.id,
            crate::ports::UserPatch {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    h.ferry
        .delete_client(&admin, &issued.client.id, None)
        .await
        .unwrap();
    let deleted = h.ferry.user_from_claims(token.clone()).await;
    assert!(matches!(deleted, Err(Error::Unauthenticated(d)) if d.contains("deleted")));
    assert!(matches!(
        h.ferry.delete_client(&admin, &issued.client.id, None).await,
        Err(Error::NotFound(d)) if d.contains("client")
    ));
    let audited: Vec<String> = h
        .catalog
        .query_audit(&AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(audited.contains(&"client.created".to_owned()));
    assert!(audited.contains(&"client.deleted".to_owned()));

    // With an outside identity provider there is no directory to hold clients.
    h.ferry.settings.users = crate::config::UserSource::Token;
    assert!(matches!(
        h.ferry.user_from_claims(token).await,
        Err(Error::Unauthenticated(_))
    ));
}

#[tokio::test]
async fn with_an_outside_issuer_the_token_says_who_the_caller_is() {
    let mut h = Harness::new();
    // By default the directory decides: someone it does not know is refused.
    let stranger = h
        .ferry
        .user_from_claims(claims("kim", Some("kim@example.com"), &["member"]))
        .await;
    assert!(matches!(stranger, Err(Error::Unauthenticated(_))));

    h.ferry.settings.users = crate::config::UserSource::Token;
    let kim = h
        .ferry
        .user_from_claims(claims(
            "kim",
            Some("Kim@Example.com"),
            &["member", "auditors"],
        ))
        .await
        .unwrap();
    assert_eq!(kim.email.as_str(), "kim@example.com");
    assert_eq!(kim.roles, vec![Role::Member], "unknown groups are ignored");
    assert!(
        !kim.name.contains('\u{202e}'),
        "names are cleaned for display: {}",
        kim.name
    );
    let mut unproven = claims("kim", Some("kim@example.com"), &["member"]);
    unproven.email_verified = false;
    let unproven = h.ferry.user_from_claims(unproven).await;
    assert!(matches!(unproven, Err(Error::Unauthenticated(d)) if d.contains("verified")));
    let no_email = h
        .ferry
        .user_from_claims(claims("kim", None, &["member"]))
        .await;
    assert!(matches!(no_email, Err(Error::Unauthenticated(d)) if d.contains("email")));

    // Users are managed where they sign in; the audit trail stays readable.
    let admin = AuthUser {
        roles: vec![Role::Admin],
        ..kim.clone()
    };
    assert!(matches!(
        h.ferry.list_users(&admin).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        h.ferry.delete_user(&admin, "someone", None).await,
        Err(Error::Conflict(_))
    ));
    assert!(
        h.ferry
            .query_audit(
                &admin,
                AuditQuery {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_retried_receipt_still_ends_a_transfer_with_nothing_to_send() {
    let h = Harness::new();
    let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run".to_vec();
    let t = h.create(&[("report.pdf", &exe, "application/pdf")]).await;
    h.upload(&t, 0, &exe).await;
    // Run the pipeline up to the sender's receipt, then stand in for a crash after the receipt
    // went out and before the transfer ended.
    let notify = loop {
        let job = h.queue.pop().expect("a receipt job is queued");
        if matches!(job, Job::NotifySender { .. }) {
            break job;
        }
        h.ferry.handle_job(&job).await.unwrap();
    };
    let mut sent = h.get(t.id).await;
    sent.sender_receipt_sent = true;
    h.catalog.save_transfer(&sent).await.unwrap();

    h.ferry.handle_job(&notify).await.unwrap();
    h.drain().await;
    assert_eq!(h.get(t.id).await.status, TransferStatus::Cancelled);
    assert!(
        h.mails_to("alice@example.org").is_empty(),
        "the receipt is not sent twice"
    );
}

#[tokio::test]
async fn deliveries_under_way_cannot_outgrow_a_catalog_item() {
    use super::deliveries::Destination;
    let h = Harness::new();
    let names: Vec<String> = (0..12).map(|i| format!("part-{i}.txt")).collect();
    let files: Vec<(&str, &[u8], &str)> = names
        .iter()
        .map(|n| (n.as_str(), TEXT, "text/plain"))
        .collect();
    let t = h.create(&files).await;
    for i in 0..files.len() {
        h.upload(&t, i, TEXT).await;
    }
    h.drain().await;
    let token = h.link_token();
    let code = h.code(&token).await;
    let grant = h.ferry.verify_code(&token, &code, None).await.unwrap();
    let bob = h.ferry.authenticate(&grant.access_token).await.unwrap();
    // Twelve long presigned URLs a delivery: about 42 KB of targets each.
    let urls = || -> std::collections::BTreeMap<String, String> {
        t.documents
            .iter()
            .map(|d| {
                let url = format!("https://bucket.example/{}?sig={}", d.id, "s".repeat(3500));
                (d.id.to_string(), url)
            })
            .collect()
    };
    for _ in 0..3 {
        h.ferry
            .create_delivery(&bob, t.id, Destination::S3Presigned { urls: urls() }, None)
            .await
            .unwrap();
    }
    let fourth = h
        .ferry
        .create_delivery(&bob, t.id, Destination::S3Presigned { urls: urls() }, None)
        .await;
    assert!(matches!(fourth, Err(Error::Conflict(d)) if d.contains("target URLs")));
}

/// The optional malware scan step, over the same harness.
mod malware;
