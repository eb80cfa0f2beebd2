//! DynamoCatalog against moto: the same behaviour as the SQLite catalog, on one table.

use crate::harness::{dynamodb_client, unique};
use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, TimeToLiveStatus};
use chrono::{DateTime, Duration, Utc};
use ferry_aws::dynamodb::{DynamoCatalog, create_table};
use ferry_core::audit::{AuditEvent, AuditQuery, Outcome};
use ferry_core::ids::{DocumentId, TransferId, UserId};
use ferry_core::model::{
    Document, DocumentStatus, Party, Recipient, Transfer, TransferStatus, UploadPlan,
};
use ferry_core::ports::{Catalog, SaveError};
use ferry_core::values::{ContentMd5, EmailAddress};
use std::collections::HashSet;

async fn catalog() -> (aws_sdk_dynamodb::Client, String, DynamoCatalog) {
    let client = dynamodb_client().await;
    let table = unique("ferry");
    create_table(&client, &table).await.unwrap();
    let catalog = DynamoCatalog::new(client.clone(), table.clone());
    (client, table, catalog)
}

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn transfer_from(sender: &str, recipients: &[&str], created_at: DateTime<Utc>) -> Transfer {
    Transfer {
        id: TransferId::new(),
        version: 0,
        sender: Party {
            id: UserId::parse(sender).unwrap(),
            email: email(&format!("{sender}@example.org")),
        },
        recipients: recipients
            .iter()
            .map(|r| Recipient::pending(email(r)))
            .collect(),
        subject: "s".into(),
        message: String::new(),
        status: TransferStatus::Uploading,
        created_at,
        expires_at: created_at + Duration::days(1),
        documents: vec![Document {
            id: DocumentId::new(),
            name: "a.txt".into(),
            size: 1,
            content_type: "text/plain".into(),
            md5: Some(ContentMd5::from_digest([1; 16])),
            status: DocumentStatus::AwaitingUpload,
            reason: None,
            upload: UploadPlan::Single,
            detected_type: None,
            sha256: None,
            pages: None,
            text_preview: Some("SECRET-PREVIEW-TEXT".into()),
            text_truncated: false,
            engine: None,
            uploaded_at: None,
        }],
        deliveries: vec![],
        notifications_queued: false,
        sender_receipt_sent: false,
        purged_at: None,
        content_deleted: false,
    }
}

fn transfer(expires_in: Duration) -> Transfer {
    let mut t = transfer_from("alice", &["bob@example.com"], Utc::now());
    t.expires_at = Utc::now() + expires_in;
    t
}

fn ids(transfers: &[Transfer]) -> Vec<TransferId> {
    transfers.iter().map(|t| t.id).collect()
}

#[tokio::test]
async fn a_created_transfer_reads_back_as_written() {
    let (_client, _table, c) = catalog().await;
    let t = transfer(Duration::days(1));
    assert!(c.get_transfer(t.id).await.unwrap().is_none());
    c.create_transfer(&t).await.unwrap();
    assert_eq!(c.get_transfer(t.id).await.unwrap(), Some(t.clone()));
    let mut again = t.clone();
    again.subject = "overwritten".into();
    assert!(
        c.create_transfer(&again).await.is_err(),
        "creating never overwrites"
    );
    assert_eq!(c.get_transfer(t.id).await.unwrap().unwrap().subject, "s");
}

#[tokio::test]
async fn saves_only_over_the_version_read() {
    let (_client, _table, c) = catalog().await;
    let t = transfer(Duration::days(1));
    c.create_transfer(&t).await.unwrap();
    let mut a = c.get_transfer(t.id).await.unwrap().unwrap();
    let mut b = a.clone();
    a.subject = "first".into();
    c.save_transfer(&a).await.unwrap();
    let stored = c.get_transfer(t.id).await.unwrap().unwrap();
    assert_eq!((stored.subject.as_str(), stored.version), ("first", 1));

    b.subject = "second".into();
    b.recipients[0].link_hash = Some("stale-link".into());
    assert!(matches!(
        c.save_transfer(&b).await,
        Err(SaveError::Conflict)
    ));
    let stored = c.get_transfer(t.id).await.unwrap().unwrap();
    assert_eq!((stored.subject.as_str(), stored.version), ("first", 1));
    assert_eq!(
        c.find_link("stale-link").await.unwrap(),
        None,
        "a refused save changes no index either"
    );

    let mut next = stored;
    next.subject = "third".into();
    c.save_transfer(&next).await.unwrap();
    assert_eq!(c.get_transfer(t.id).await.unwrap().unwrap().version, 2);

    let mut unknown = transfer(Duration::days(1));
    unknown.version = 0;
    assert!(matches!(
        c.save_transfer(&unknown).await,
        Err(SaveError::Conflict)
    ));
}

#[tokio::test]
async fn of_two_concurrent_saves_from_one_read_exactly_one_wins() {
    let (_client, _table, c) = catalog().await;
    let t = transfer(Duration::days(1));
    c.create_transfer(&t).await.unwrap();
    let read = c.get_transfer(t.id).await.unwrap().unwrap();
    let (mut a, mut b) = (read.clone(), read);
    a.subject = "a".into();
    a.recipients[0].link_hash = Some("link-a".into());
    b.subject = "b".into();
    b.recipients[0].link_hash = Some("link-b".into());
    let (ra, rb) = tokio::join!(c.save_transfer(&a), c.save_transfer(&b));
    let (winner, loser) = match (ra, rb) {
        (Ok(()), Err(SaveError::Conflict)) => ("a", "b"),
        (Err(SaveError::Conflict), Ok(())) => ("b", "a"),
        other => panic!("expected one save and one conflict, got {other:?}"),
    };
    let stored = c.get_transfer(t.id).await.unwrap().unwrap();
    assert_eq!((stored.subject.as_str(), stored.version), (winner, 1));
    let bob = email("bob@example.com");
    assert_eq!(
        c.find_link(&format!("link-{winner}")).await.unwrap(),
        Some((t.id, bob))
    );
    assert_eq!(c.find_link(&format!("link-{loser}")).await.unwrap(), None);
}

#[tokio::test]
async fn the_outbox_lists_a_senders_transfers_newest_first() {
    let (_client, _table, c) = catalog().await;
    let now = Utc::now();
    let oldest = transfer_from("alice", &["bob@example.com"], now - Duration::hours(3));
    let middle = transfer_from("alice", &["bob@example.com"], now - Duration::hours(2));
    let newest = transfer_from("alice", &["bob@example.com"], now - Duration::hours(1));
    let other = transfer_from("carol", &["bob@example.com"], now);
    for t in [&middle, &other, &newest, &oldest] {
        c.create_transfer(t).await.unwrap();
    }
    let alice = UserId::parse("alice").unwrap();
    let all = c.list_sent(&alice, 10).await.unwrap();
    assert_eq!(ids(&all), vec![newest.id, middle.id, oldest.id]);
    assert_eq!(all[0], newest);
    assert_eq!(
        ids(&c.list_sent(&alice, 2).await.unwrap()),
        vec![newest.id, middle.id]
    );
    let carol = UserId::parse("carol").unwrap();
    assert_eq!(ids(&c.list_sent(&carol, 10).await.unwrap()), vec![other.id]);
    let nobody = UserId::parse("nobody").unwrap();
    assert!(c.list_sent(&nobody, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_inbox_lists_a_recipients_transfers_newest_first() {
    let (_client, _table, c) = catalog().await;
    let now = Utc::now();
    let older = transfer_from("alice", &["bob@example.com"], now - Duration::hours(2));
    let newer = transfer_from(
        "carol",
        &["dave@example.com", "bob@example.com"],
        now - Duration::hours(1),
    );
    let not_bobs = transfer_from("alice", &["dave@example.com"], now);
    for t in [&newer, &not_bobs, &older] {
        c.create_transfer(t).await.unwrap();
    }
    let mut changed = c.get_transfer(older.id).await.unwrap().unwrap();
    changed.subject = "changed".into();
    c.save_transfer(&changed).await.unwrap();

    let bob = email("bob@example.com");
    let inbox = c.list_received(&bob, 10).await.unwrap();
    assert_eq!(ids(&inbox), vec![newer.id, older.id]);
    assert_eq!(inbox[1].subject, "changed", "the transfer as it is now");
    assert_eq!(inbox[1].version, 1);
    assert_eq!(
        ids(&c.list_received(&bob, 1).await.unwrap()),
        vec![newer.id]
    );
    let dave = email("dave@example.com");
    assert_eq!(
        ids(&c.list_received(&dave, 10).await.unwrap()),
        vec![not_bobs.id, newer.id]
    );
    assert!(
        c.list_received(&email("eve@example.com"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_link_resolves_while_it_is_the_recipients_current_one() {
    let (_client, _table, c) = catalog().await;
    let t = transfer_from(
        "alice",
        &["bob@example.com", "dave@example.com"],
        Utc::now(),
    );
    c.create_transfer(&t).await.unwrap();
    let bob = email("bob@example.com");
    let dave = email("dave@example.com");
    assert_eq!(c.find_link("h1").await.unwrap(), None);

    let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
    t.recipients[0].link_hash = Some("h1".into());
    t.recipients[1].link_hash = Some("d1".into());
    c.save_transfer(&t).await.unwrap();
    assert_eq!(c.find_link("h1").await.unwrap(), Some((t.id, bob.clone())));
    assert_eq!(c.find_link("d1").await.unwrap(), Some((t.id, dave.clone())));

    let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
    t.recipients[0].link_hash = Some("h2".into());
    c.save_transfer(&t).await.unwrap();
    assert_eq!(
        c.find_link("h1").await.unwrap(),
        None,
        "a replaced link stops working"
    );
    assert_eq!(c.find_link("h2").await.unwrap(), Some((t.id, bob.clone())));
    assert_eq!(c.find_link("d1").await.unwrap(), Some((t.id, dave.clone())));

    let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
    t.recipients[0].link_hash = None;
    c.save_transfer(&t).await.unwrap();
    assert_eq!(c.find_link("h2").await.unwrap(), None);

    let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
    t.finish(TransferStatus::Completed, Utc::now());
    c.save_transfer(&t).await.unwrap();
    assert_eq!(c.find_link("d1").await.unwrap(), None, "a purge ends links");
    assert_eq!(
        ids(&c.list_received(&bob, 10).await.unwrap()),
        vec![t.id],
        "the inbox keeps an ended transfer"
    );
}

#[tokio::test]
async fn the_largest_transfer_changes_every_link_in_one_save() {
    let (_client, _table, c) = catalog().await;
    let addresses: Vec<String> = (0..50).map(|i| format!("r{i}@example.com")).collect();
    let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let t = transfer_from("alice", &refs, Utc::now());
    c.create_transfer(&t).await.unwrap();

    let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
    for (i, r) in t.recipients.iter_mut().enumerate() {
        r.link_hash = Some(format!("link-{i}"));
    }
    c.save_transfer(&t).await.unwrap();
    assert_eq!(
        c.find_link("link-49").await.unwrap(),
        Some((t.id, email("r49@example.com")))
    );

    let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
    t.finish(TransferStatus::Cancelled, Utc::now());
    c.save_transfer(&t).await.unwrap();
    for i in [0, 49] {
        assert_eq!(c.find_link(&format!("link-{i}")).await.unwrap(), None);
    }
}

#[tokio::test]
async fn expiry_lists_only_open_transfers_past_their_date() {
    let (_client, _table, c) = catalog().await;
    let now = Utc::now();
    // Enough transfers that every shard of the expiry index likely holds some.
    let mut expired: Vec<Transfer> = (1..=12).map(|i| transfer(Duration::minutes(-i))).collect();
    let mut due_now = transfer(Duration::zero());
    due_now.expires_at = now;
    let fresh = transfer(Duration::days(1));
    for t in expired.iter().chain([&due_now, &fresh]) {
        c.create_transfer(t).await.unwrap();
    }
    expired.sort_by_key(|t| t.expires_at);
    expired.push(due_now);
    let all = c.expired_before(now, 100).await.unwrap();
    assert_eq!(all, ids(&expired), "soonest expired first");
    assert_eq!(c.expired_before(now, 3).await.unwrap(), ids(&expired[..3]));

    let mut t = c.get_transfer(expired[0].id).await.unwrap().unwrap();
    t.finish(TransferStatus::Expired, Utc::now());
    c.save_transfer(&t).await.unwrap();
    assert!(
        c.expired_before(now, 100).await.unwrap().contains(&t.id),
        "ended but not yet purged: the sweep still has work to do"
    );
    let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
    t.content_deleted = true;
    c.save_transfer(&t).await.unwrap();
    assert_eq!(
        c.expired_before(now, 100).await.unwrap(),
        ids(&expired[1..])
    );
}

#[tokio::test]
async fn purged_text_is_gone_from_the_table_and_its_indexes() {
    let (client, table, c) = catalog().await;
    let t = transfer(Duration::days(1));
    c.create_transfer(&t).await.unwrap();
    let mut t = c.get_transfer(t.id).await.unwrap().unwrap();
    t.finish(TransferStatus::Completed, Utc::now());
    t.content_deleted = true;
    c.save_transfer(&t).await.unwrap();
    c.scrub().await.unwrap();
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("TRANSFER#{}", t.id)))
        .key("sk", AttributeValue::S("TRANSFER".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!format!("{item:?}").contains("SECRET-PREVIEW-TEXT"));
    let sent = c
        .list_sent(&UserId::parse("alice").unwrap(), 10)
        .await
        .unwrap();
    assert!(!format!("{sent:?}").contains("SECRET-PREVIEW-TEXT"));
    assert_eq!(
        c.get_transfer(t.id).await.unwrap().unwrap().status,
        TransferStatus::Completed,
        "the metadata outlives the purge"
    );
}

fn at(base: DateTime<Utc>, millis: i64) -> DateTime<Utc> {
    base + Duration::milliseconds(millis)
}

/// A time with whole microseconds, as stored.
fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

async fn all_pages(c: &DynamoCatalog, query: AuditQuery) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = c
            .query_audit(&AuditQuery {
                cursor: cursor.clone(),
                ..query.clone()
            })
            .await
            .unwrap();
        pages.push(page.events.iter().map(|e| e.action.clone()).collect());
        match page.next_cursor {
            Some(next) => {
                assert!(
                    next.bytes().all(|b| b.is_ascii_digit()) && next.len() <= 18,
                    "the API accepts the cursor: {next}"
                );
                cursor = Some(next);
            }
            None => return pages,
        }
        assert!(pages.len() < 100, "paging never ends");
    }
}

#[tokio::test]
async fn audit_pages_newest_first_with_filters() {
    let (_client, _table, c) = catalog().await;
    let base = base_time();
    let tid = TransferId::new();
    for i in 0..7 {
        let e = AuditEvent::new(
            if i % 2 == 0 { "user:a" } else { "system" },
            &format!("step.{i}"),
            Outcome::Success,
            at(base, i),
        );
        c.append_audit(&e.transfer(tid)).await.unwrap();
    }
    c.append_audit(&AuditEvent::new(
        "user:a",
        "other",
        Outcome::Success,
        at(base, 100),
    ))
    .await
    .unwrap();
    let elsewhere = AuditEvent::new("system", "elsewhere", Outcome::Failure, at(base, 50))
        .transfer(TransferId::new())
        .document(DocumentId::new())
        .detail("why")
        .source_ip(Some("192.0.2.1".into()));
    c.append_audit(&elsewhere).await.unwrap();

    let by_transfer = all_pages(
        &c,
        AuditQuery {
            transfer_id: Some(tid),
            limit: 3,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        by_transfer,
        [
            vec!["step.6", "step.5", "step.4"],
            vec!["step.3", "step.2", "step.1"],
            vec!["step.0"]
        ]
    );
    let by_actor = c
        .query_audit(&AuditQuery {
            actor: Some("user:a".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<_> = by_actor.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["other", "step.6", "step.4", "step.2", "step.0"]);
    assert!(by_actor.next_cursor.is_none());
    let both = all_pages(
        &c,
        AuditQuery {
            transfer_id: Some(tid),
            actor: Some("system".into()),
            limit: 2,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(both, [vec!["step.5", "step.3"], vec!["step.1"]]);
    let everything = c
        .query_audit(&AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let stored: Vec<_> = everything
        .events
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        stored,
        [
            "other",
            "elsewhere",
            "step.6",
            "step.5",
            "step.4",
            "step.3",
            "step.2",
            "step.1",
            "step.0"
        ]
    );
    assert_eq!(everything.events[1], elsewhere, "events read back whole");
}

#[tokio::test]
async fn the_whole_trail_pages_through_every_event_once() {
    let (_client, _table, c) = catalog().await;
    let base = base_time();
    let mut expected = Vec::new();
    for i in 0..23 {
        let mut e = AuditEvent::new(
            format!("user:{}", i % 3),
            &format!("e{i:02}"),
            Outcome::Success,
            at(base, i),
        );
        if i % 2 == 0 {
            e = e.transfer(TransferId::new());
        }
        c.append_audit(&e).await.unwrap();
        expected.push(e.action);
    }
    expected.reverse();
    let pages = all_pages(
        &c,
        AuditQuery {
            limit: 5,
            ..Default::default()
        },
    )
    .await;
    assert!(pages.iter().all(|p| p.len() <= 5));
    assert_eq!(pages.len(), 5);
    assert_eq!(pages.concat(), expected);

    let actor_pages = all_pages(
        &c,
        AuditQuery {
            actor: Some("user:1".into()),
            limit: 2,
            ..Default::default()
        },
    )
    .await;
    let mine: Vec<_> = expected
        .iter()
        .filter(|a| a[1..].parse::<u32>().unwrap() % 3 == 1)
        .cloned()
        .collect();
    assert_eq!(actor_pages.concat(), mine);
}

#[tokio::test]
async fn since_is_inclusive_and_until_exclusive() {
    let (_client, _table, c) = catalog().await;
    let base = base_time();
    let tid = TransferId::new();
    for i in 0..6 {
        let e = AuditEvent::new("user:a", &format!("e{i}"), Outcome::Success, at(base, i))
            .transfer(tid);
        c.append_audit(&e).await.unwrap();
    }
    let window = AuditQuery {
        since: Some(at(base, 1)),
        until: Some(at(base, 4)),
        limit: 2,
        ..Default::default()
    };
    let expect = [vec!["e3", "e2"], vec!["e1"]];
    assert_eq!(all_pages(&c, window.clone()).await, expect);
    let by_transfer = AuditQuery {
        transfer_id: Some(tid),
        ..window.clone()
    };
    assert_eq!(all_pages(&c, by_transfer).await, expect);
    let by_actor = AuditQuery {
        actor: Some("user:a".into()),
        ..window
    };
    assert_eq!(all_pages(&c, by_actor).await, expect);
    let only_since = AuditQuery {
        since: Some(at(base, 4)),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(all_pages(&c, only_since).await, [vec!["e5", "e4"]]);
    let only_until = AuditQuery {
        transfer_id: Some(tid),
        until: Some(at(base, 2)),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(all_pages(&c, only_until).await, [vec!["e1", "e0"]]);
}

#[tokio::test]
async fn a_page_never_splits_events_of_the_same_microsecond() {
    let (_client, _table, c) = catalog().await;
    let base = base_time();
    let tid = TransferId::new();
    let mut written = HashSet::new();
    for (i, millis) in [0, 1, 1, 1, 1, 2].into_iter().enumerate() {
        let e = AuditEvent::new(
            "system",
            &format!("e{i}"),
            Outcome::Success,
            at(base, millis),
        )
        .transfer(tid);
        c.append_audit(&e).await.unwrap();
        written.insert(e.action);
    }
    for query in [
        AuditQuery {
            transfer_id: Some(tid),
            limit: 2,
            ..Default::default()
        },
        AuditQuery {
            limit: 2,
            ..Default::default()
        },
    ] {
        let pages = all_pages(&c, query).await;
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].len(), 5, "the tie at +1ms finishes the first page");
        assert_eq!(pages[0][0], "e5");
        assert_eq!(pages[1], ["e0"]);
        let seen: Vec<_> = pages.concat();
        assert_eq!(seen.len(), written.len(), "no event twice");
        assert_eq!(seen.into_iter().collect::<HashSet<_>>(), written);
    }
}

#[tokio::test]
async fn a_malformed_cursor_is_refused() {
    let (_client, _table, c) = catalog().await;
    for cursor in ["abc", "", "12.5"] {
        let err = c
            .query_audit(&AuditQuery {
                cursor: Some(cursor.into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("bad cursor"), "{err:#}");
    }
}

#[tokio::test]
async fn creating_the_table_again_changes_nothing() {
    let client = dynamodb_client().await;
    let table = unique("ferry");
    create_table(&client, &table).await.unwrap();
    let c = DynamoCatalog::new(client.clone(), table.clone());
    let t = transfer(Duration::days(1));
    c.create_transfer(&t).await.unwrap();
    create_table(&client, &table).await.unwrap();
    assert_eq!(c.get_transfer(t.id).await.unwrap(), Some(t));

    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        described
            .billing_mode_summary()
            .and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let mut indexes: Vec<_> = described
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    indexes.sort();
    assert_eq!(indexes, ["gsi1", "gsi2", "gsi3"]);
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at_ttl"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}
