//! Drop folders: files and manifests under `inbox/{owner}/` becoming transfers.

use super::*;
use crate::model::User;
use crate::ports::{NewUser, UserDirectory};
use crate::services::drop_folder::DropFolderChange;

impl Harness {
    async fn member(&self, email: &str) -> User {
        self.directory
            .create(NewUser {
                email: EmailAddress::parse(email).unwrap(),
                name: "Dora".into(),
                roles: vec![Role::Member],
                password: None,
            })
            .await
            .unwrap()
    }

    /// A file landing in a drop folder and the bucket event that follows it.
    async fn drop_file(&self, key: &str, body: &[u8]) {
        self.inbox.put(key, body.to_vec());
        self.queue
            .enqueue_now(Job::ObjectCreated { key: key.into() })
            .await;
    }

    async fn set_defaults(&self, owner: &User, recipients: &[&str], subject: Option<&str>) {
        self.ferry
            .set_drop_folder(
                &as_auth(owner),
                DropFolderChange {
                    default_recipients: recipients.iter().map(|r| (*r).to_owned()).collect(),
                    subject: subject.map(str::to_owned),
                    message: None,
                },
            )
            .await
            .unwrap();
    }

    /// `figures.txt` and `logo.png` in `inbox/{owner}/batch/` with a manifest to bob, but no
    /// event yet: the manifest's event and the folder.
    fn batch_of_two(&self, owner: &User) -> (Job, String) {
        let folder = format!("inbox/{}/batch", owner.id);
        self.inbox
            .put(&format!("{folder}/figures.txt"), TEXT.to_vec());
        self.inbox.put(&format!("{folder}/logo.png"), PNG.to_vec());
        let manifest = format!("{folder}/go.ferry.json");
        self.inbox.put(
            &manifest,
            br#"{"recipients": ["bob@example.com"]}"#.to_vec(),
        );
        (Job::ObjectCreated { key: manifest }, folder)
    }

    async fn transfers(&self) -> Vec<Transfer> {
        let mut all = vec![];
        for id in self.catalog.transfer_ids() {
            all.push(self.get(id).await);
        }
        all
    }
}

fn as_auth(user: &User) -> AuthUser {
    AuthUser {
        id: user.id.clone(),
        email: user.email.clone(),
        name: user.name.clone(),
        roles: user.roles.clone(),
    }
}

#[tokio::test]
async fn a_manifest_sends_the_files_beside_it_through_the_pipeline() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    let folder = format!("inbox/{}/nightly", dora.id);
    h.drop_file(&format!("{folder}/figures.txt"), TEXT).await;
    h.drop_file(&format!("{folder}/logo.png"), PNG).await;
    h.drain().await;
    assert!(
        h.transfers().await.is_empty(),
        "files wait for their manifest"
    );

    h.drop_file(
        &format!("{folder}/send.ferry.json"),
        br#"{"recipients": ["bob@example.com"], "subject": "Nightly", "message": "Tonight's."}"#,
    )
    .await;
    h.drain().await;

    let [t] = &h.transfers().await[..] else {
        panic!("one transfer")
    };
    assert_eq!(t.sender.id, dora.id);
    assert_eq!(t.subject, "Nightly");
    assert_eq!(t.message, "Tonight's.");
    assert_eq!(t.status, TransferStatus::Sent);
    let names: Vec<_> = t.documents.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["figures.txt", "logo.png"]);
    assert!(
        t.documents
            .iter()
            .all(|d| d.status == DocumentStatus::Ready)
    );
    assert_eq!(
        h.store
            .object(&object_key(t.id, t.documents[1].id))
            .unwrap(),
        PNG
    );
    assert!(h.inbox.keys().is_empty(), "{:?}", h.inbox.keys());
    assert_eq!(h.mails_to("bob@example.com").len(), 1);
    assert!(
        h.catalog
            .audit_actions(t.id)
            .contains(&"drop_folder.ingested".to_owned())
    );
}

#[tokio::test]
async fn a_lone_file_goes_to_the_default_recipients_and_waits_without_them() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    // The owner by email works as well as by id.
    let key = "inbox/dora@example.org/figures.txt";
    h.drop_file(key, TEXT).await;
    h.drain().await;
    assert!(h.transfers().await.is_empty());
    assert_eq!(h.inbox.keys(), [key], "without default recipients it waits");

    h.set_defaults(&dora, &["bob@example.com", "carol@example.com"], None)
        .await;
    h.drop_file(key, TEXT).await;
    h.drain().await;
    let [t] = &h.transfers().await[..] else {
        panic!("one transfer")
    };
    assert_eq!(t.subject, "figures.txt");
    assert_eq!(t.recipients.len(), 2);
    assert_eq!(t.status, TransferStatus::Sent);
    assert!(h.inbox.keys().is_empty());
}

#[tokio::test]
async fn a_replayed_event_makes_no_second_transfer() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    h.set_defaults(&dora, &["bob@example.com"], Some("From the scanner"))
        .await;
    let key = format!("inbox/{}/figures.txt", dora.id);
    h.inbox.put(&key, TEXT.to_vec());
    let event = Job::ObjectCreated { key: key.clone() };
    let transfer_id = {
        let entry = h.ferry.ports.inbox.head(&key).await.unwrap().unwrap();
        TransferId::derived(&[entry.key.as_bytes(), entry.version.as_bytes()])
    };
    h.ferry.handle_job(&event).await.unwrap();
    // The same bytes written again are a new file and a new transfer; the event for them
    // delivered twice is still one.
    h.inbox.put(&key, TEXT.to_vec());
    h.ferry.handle_job(&event).await.unwrap();
    h.ferry.handle_job(&event).await.unwrap();
    h.drain().await;
    let transfers = h.transfers().await;
    assert_eq!(transfers.len(), 2, "one per version of the file");
    assert!(transfers.iter().any(|t| t.id == transfer_id));
    assert!(transfers.iter().all(|t| t.subject == "From the scanner"));
}

#[tokio::test]
async fn a_manifest_replayed_after_a_partial_run_finishes_the_same_transfer() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    let (event, _) = h.batch_of_two(&dora);
    // The first run hands over and removes the first file, then stops.
    h.inbox.fail_removals_after(Some(1));
    assert!(h.ferry.handle_job(&event).await.is_err());
    assert_eq!(h.inbox.keys().len(), 2, "{:?}", h.inbox.keys());
    h.inbox.fail_removals_after(None);
    // The replay sees a folder with one file less, and still fills the right documents.
    h.ferry.handle_job(&event).await.unwrap();
    h.ferry.handle_job(&event).await.unwrap();
    h.drain().await;
    let [t] = &h.transfers().await[..] else {
        panic!("one transfer")
    };
    assert_eq!(t.subject, "figures.txt and 1 more");
    assert!(
        t.documents
            .iter()
            .all(|d| d.status == DocumentStatus::Ready),
        "{:?}",
        t.documents
    );
    assert_eq!(t.status, TransferStatus::Sent);
    assert!(h.inbox.keys().is_empty(), "{:?}", h.inbox.keys());
}

#[tokio::test]
async fn a_file_taken_away_before_it_was_copied_is_rejected_not_left_waiting() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    let (event, folder) = h.batch_of_two(&dora);
    // The first run hands over the first file and stops; then the second file is taken away.
    h.inbox.fail_removals_after(Some(0));
    assert!(h.ferry.handle_job(&event).await.is_err());
    h.inbox.fail_removals_after(None);
    h.ferry
        .ports
        .inbox
        .remove(&format!("{folder}/logo.png"))
        .await
        .unwrap();

    h.ferry.handle_job(&event).await.unwrap();
    h.drain().await;
    let [t] = &h.transfers().await[..] else {
        panic!("one transfer")
    };
    let statuses: Vec<_> = t.documents.iter().map(|d| (d.status, d.reason)).collect();
    assert_eq!(
        statuses,
        [
            (DocumentStatus::Ready, None),
            (DocumentStatus::Rejected, Some(RejectReason::Withdrawn))
        ]
    );
    assert_eq!(t.status, TransferStatus::Sent, "the rest is sent at once");
    assert_eq!(h.mails_to("bob@example.com").len(), 1);
    let receipt = h.mails_to("dora@example.org");
    assert!(
        receipt
            .iter()
            .any(|m| m.text.contains("taken out of the drop folder")),
        "{receipt:?}"
    );
    assert!(h.inbox.keys().is_empty(), "{:?}", h.inbox.keys());
}

#[tokio::test]
async fn a_file_written_again_while_its_batch_is_sent_is_not_removed_unsent() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    h.set_defaults(&dora, &["bob@example.com"], None).await;
    let key = format!("inbox/{}/figures.txt", dora.id);
    h.inbox.put(&key, TEXT.to_vec());
    let event = Job::ObjectCreated { key: key.clone() };
    // The first run stops after handing the file over; then the file is written again.
    h.inbox.fail_removals_after(Some(0));
    assert!(h.ferry.handle_job(&event).await.is_err());
    h.inbox.fail_removals_after(None);
    h.inbox.put(&key, PNG.to_vec());
    // The old event's replay is a new version's event now: a second transfer, with the PNG.
    h.ferry.handle_job(&event).await.unwrap();
    h.drain().await;
    let transfers = h.transfers().await;
    assert_eq!(transfers.len(), 2);
    assert!(h.inbox.keys().is_empty());
}

#[tokio::test]
async fn an_event_that_fails_every_retry_sets_its_batch_aside_and_tells_the_owner() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    let key = format!("inbox/{}/batch/go.ferry.json", dora.id);
    h.inbox
        .put(&key, br#"{"recipients": ["bob@example.com"]}"#.to_vec());
    h.ferry
        .abandon_job(&Job::ObjectCreated { key: key.clone() })
        .await
        .unwrap();
    let failed = format!("inbox/{}/.failed/batch/go.ferry.json", dora.id);
    let mut keys = h.inbox.keys();
    keys.sort();
    assert_eq!(keys, [failed.clone(), format!("{failed}.reason.txt")]);
    let mails = h.mails_to("dora@example.org");
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].text.contains("several attempts"),
        "{}",
        mails[0].text
    );
}

#[tokio::test]
async fn a_batch_that_cannot_be_sent_moves_to_failed_with_its_reason_and_the_owner_is_told() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    let folder = format!("inbox/{}/batch", dora.id);
    h.drop_file(&format!("{folder}/figures.txt"), TEXT).await;
    h.drop_file(
        &format!("{folder}/go.ferry.json"),
        br#"{"recipients": ["bob@example.com"], "files": ["figures.txt", "missing.pdf"]}"#,
    )
    .await;
    h.drain().await;

    assert!(h.transfers().await.is_empty());
    let failed = format!("inbox/{}/.failed/batch", dora.id);
    let mut keys = h.inbox.keys();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("{failed}/figures.txt"),
            format!("{failed}/go.ferry.json"),
            format!("{failed}/go.ferry.json.reason.txt"),
        ]
    );
    let reason = h
        .inbox
        .file(&format!("{failed}/go.ferry.json.reason.txt"))
        .unwrap();
    let reason = String::from_utf8_lossy(&reason);
    assert!(
        reason.contains("'missing.pdf' named in the manifest"),
        "{reason}"
    );
    let mails = h.mails_to("dora@example.org");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("missing.pdf"), "{}", mails[0].text);
    assert!(
        h.catalog
            .all_audit_actions()
            .contains(&"drop_folder.refused".to_owned())
    );
    // Events for the moved files are ignored.
    h.queue
        .enqueue_now(Job::ObjectCreated {
            key: format!("{failed}/figures.txt"),
        })
        .await;
    h.drain().await;
    assert_eq!(h.inbox.keys().len(), 3);
}

#[tokio::test]
async fn refusals_name_the_file_and_the_rule() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    let cases: [(&[u8], &str); 3] = [
        (br#"{"recipients": ["not an address"]}"#, "recipients:"),
        (br#"{"recipient": ["bob@example.com"]}"#, "unknown field"),
        (br#"{}"#, "no default recipients"),
    ];
    for (i, (manifest, expected)) in cases.into_iter().enumerate() {
        let folder = format!("inbox/{}/case{i}", dora.id);
        h.drop_file(&format!("{folder}/figures.txt"), TEXT).await;
        h.drop_file(&format!("{folder}/m.ferry.json"), manifest)
            .await;
        h.drain().await;
        let reason = h
            .inbox
            .file(&format!(
                "inbox/{}/.failed/case{i}/m.ferry.json.reason.txt",
                dora.id
            ))
            .unwrap_or_else(|| panic!("case {i}: no reason file"));
        let reason = String::from_utf8_lossy(&reason);
        assert!(reason.contains(expected), "case {i}: {reason}");
    }
    // An empty file: its name in the reason, not its index.
    let folder = format!("inbox/{}/empty", dora.id);
    h.drop_file(&format!("{folder}/nothing.txt"), b"").await;
    h.drop_file(
        &format!("{folder}/m.ferry.json"),
        br#"{"recipients": ["bob@example.com"]}"#,
    )
    .await;
    h.drain().await;
    let reason = h
        .inbox
        .file(&format!(
            "inbox/{}/.failed/empty/m.ferry.json.reason.txt",
            dora.id
        ))
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&reason),
        "'nothing.txt': size: the file is empty\n"
    );
    assert!(h.transfers().await.is_empty());
}

#[tokio::test]
async fn an_unknown_owner_gets_nothing_sent_and_the_file_is_kept_aside() {
    let h = Harness::new();
    h.drop_file("inbox/nobody@example.org/figures.txt", TEXT)
        .await;
    h.drain().await;
    assert!(h.transfers().await.is_empty());
    let mut keys = h.inbox.keys();
    keys.sort();
    assert_eq!(
        keys,
        [
            "inbox/nobody@example.org/.failed/figures.txt",
            "inbox/nobody@example.org/.failed/figures.txt.reason.txt",
        ]
    );
    assert!(h.mailer.sent().is_empty());
}

#[tokio::test]
async fn a_manifest_md5_is_checked_against_the_bytes_end_to_end() {
    let h = Harness::new();
    let dora = h.member("dora@example.org").await;
    let folder = format!("inbox/{}/checked", dora.id);
    h.drop_file(&format!("{folder}/figures.txt"), TEXT).await;
    h.drop_file(&format!("{folder}/logo.png"), PNG).await;
    let right = hex::encode(Md5::digest(TEXT));
    let wrong = hex::encode(Md5::digest(b"something else"));
    h.drop_file(
        &format!("{folder}/m.ferry.json"),
        format!(
            r#"{{"recipients": ["bob@example.com"], "files": [
                {{"name": "figures.txt", "md5": "{right}"}},
                {{"name": "logo.png", "md5": "{wrong}"}}]}}"#
        )
        .as_bytes(),
    )
    .await;
    h.drain().await;
    let [t] = &h.transfers().await[..] else {
        panic!("one transfer")
    };
    assert_eq!(t.documents[0].status, DocumentStatus::Ready);
    assert_eq!(t.documents[1].status, DocumentStatus::Rejected);
    assert_eq!(t.documents[1].reason, Some(RejectReason::ChecksumMismatch));
}

#[tokio::test]
async fn drop_folder_settings_are_checked_and_shown_with_the_location() {
    let h = Harness::new();
    let dora = as_auth(&h.member("dora@example.org").await);
    let view = h.ferry.drop_folder(&dora).await.unwrap();
    assert_eq!(view.location, format!("inbox/{}/", dora.id));
    assert!(view.settings.default_recipients.is_empty());

    let bad = h
        .ferry
        .set_drop_folder(
            &dora,
            DropFolderChange {
                default_recipients: vec!["bob@example.com".into(), "nope".into()],
                subject: None,
                message: None,
            },
        )
        .await;
    assert!(
        matches!(&bad, Err(Error::Invalid(d)) if d.starts_with("default_recipients:")),
        "{:?}",
        bad.err()
    );
    assert!(
        h.ferry
            .drop_folder(&dora)
            .await
            .unwrap()
            .settings
            .default_recipients
            .is_empty(),
        "nothing saved"
    );

    let saved = h
        .ferry
        .set_drop_folder(
            &dora,
            DropFolderChange {
                default_recipients: vec!["Bob@Example.com".into(), "bob@example.com".into()],
                subject: Some("  ".into()),
                message: Some("Scans".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(saved.settings.default_recipients.len(), 1);
    assert_eq!(saved.settings.subject, None);
    assert_eq!(saved.settings.message.as_deref(), Some("Scans"));

    let viewer = AuthUser {
        roles: vec![],
        ..dora.clone()
    };
    assert!(matches!(
        h.ferry.drop_folder(&viewer).await,
        Err(Error::Forbidden(_))
    ));
}
