//! UC1 + UC2 on the AWS adapters against moto: presigned PUTs and a multipart upload into S3,
//! the notifications S3 sends to the validate queue, the worker functions' handlers fed from
//! the queues as Lambda's SQS integration would, emails read back from SES, a download
//! through a presigned GET, and the purge checked by listing the bucket.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferry_core::ports::NewUser;
use ferry_core::services::Ferry;
use ferry_core::values::{EmailAddress, Role as UserRole};
use ferry_functions::environment::Environment;
use ferry_functions::jobs::Retries;
use ferry_functions::wiring::{self, Role};
use ferry_functions::{events, http};
use ferry_moto::{moto, s3_client, sdk_config, sqs_client};
use ferry_testbed::issuer::TestIssuer;
use ferry_testbed::stack::Stack;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::Arc;
use tower::ServiceExt;

/// The environment the template gives the functions of this stack.
fn environment(stack: &Stack) -> Environment {
    Environment::from_lookup(|name| stack.vars.get(name).cloned()).unwrap()
}

const MIB: usize = 1024 * 1024;
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde\0\0\0\x0cIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";

fn md5_b64(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

struct Portal {
    app: axum::Router,
    http: reqwest::Client,
}

impl Portal {
    /// A request through the API's router, as the API functions serve it.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value, headers)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let (status, value, _) = self.call(Method::POST, path, token, Some(body)).await;
        (status, value)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (status, value, _) = self.call(Method::GET, path, Some(token), None).await;
        (status, value)
    }

    async fn send(&self, plan: &Value, bytes: Vec<u8>) -> reqwest::Response {
        let mut request = self.http.put(plan["url"].as_str().unwrap()).body(bytes);
        for (name, value) in plan["headers"].as_object().unwrap() {
            request = request.header(name, value.as_str().unwrap());
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "storage answered {}",
            response.status()
        );
        response
    }

    /// Sends a document's bytes the way its upload plan says, as the web portal would.
    async fn upload(&self, token: &str, transfer: &Value, index: usize, bytes: &[u8]) {
        let doc = &transfer["documents"][index];
        let plan = &doc["upload"];
        if plan["method"] == "PUT" {
            self.send(plan, bytes.to_vec()).await;
            return;
        }
        let (tid, did) = (
            transfer["id"].as_str().unwrap(),
            doc["id"].as_str().unwrap(),
        );
        let part_size = plan["part_size"].as_u64().unwrap() as usize;
        let parts: Vec<&[u8]> = bytes.chunks(part_size).collect();
        let wanted: Vec<Value> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| json!({ "number": i + 1, "md5": md5_b64(p) }))
            .collect();
        let (status, signed) = self
            .post(
                &format!("/api/v1/transfers/{tid}/documents/{did}/parts"),
                Some(token),
                json!({ "parts": wanted }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        let sends = signed["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|part| async {
                let number = part["number"].as_u64().unwrap() as usize;
                let response = self.send(part, parts[number - 1].to_vec()).await;
                json!({ "number": number, "etag": response.headers()["etag"].to_str().unwrap() })
            });
        let completed = futures_util::future::join_all(sends).await;
        let (status, body) = self
            .post(
                &format!("/api/v1/transfers/{tid}/documents/{did}/complete"),
                Some(token),
                json!({ "parts": completed, "md5": md5_b64(bytes) }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
}

/// Lambda's SQS event source mapping, by hand: receive from each queue, hand the batch to
/// the worker's entry point, delete what it did not report failed. Until every queue is empty.
async fn drain_queues(worker: &Ferry, stack: &Stack) {
    let sqs = sqs_client().await;
    let queues = [
        "VALIDATE_QUEUE_URL",
        "EXTRACT_QUEUE_URL",
        "NOTIFY_QUEUE_URL",
        "DELIVER_QUEUE_URL",
    ];
    let mut idle_rounds = 0;
    while idle_rounds < 2 {
        let mut handled = 0;
        for name in queues {
            let url = &stack.vars[name];
            let received = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                continue;
            }
            handled += messages.len();
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    let attributes: serde_json::Map<String, Value> = m
                        .attributes()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                        .collect();
                    json!({
                        "messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                        "body": m.body(), "attributes": attributes, "messageAttributes": {},
                        "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                    })
                })
                .collect();
            let retries = Retries {
                max_receive_count: 5,
                backoff: None,
            };
            let answer = events::handle(worker, &retries, json!({ "Records": records }))
                .await
                .unwrap();
            let failed: Vec<&str> = answer["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap())
                .collect();
            assert!(failed.is_empty(), "jobs failed on {name}: {failed:?}");
            for m in &messages {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        idle_rounds = if handled == 0 { idle_rounds + 1 } else { 0 };
    }
}

/// The emails moto's SES accepted for `to`: (subject, body).
async fn mails_to(to: &str) -> Vec<(String, String)> {
    let messages: Vec<Value> = reqwest::get(format!("{}/ses/messages", moto().mail_endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    messages
        .into_iter()
        .filter(|m| {
            m["to"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == to))
        })
        .map(|m| {
            (
                m["subject"].as_str().unwrap().to_owned(),
                m["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn objects_under(stack: &Stack, prefix: &str) -> usize {
    let listed = s3_client()
        .await
        .list_objects_v2()
        .bucket(&stack.bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    listed.contents().len()
}

fn doc<'a>(transfer: &'a Value, name: &str) -> &'a Value {
    transfer["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap()
}

#[tokio::test]
async fn send_receive_and_purge_on_the_aws_adapters() {
    let issuer = TestIssuer::start().await;
    let stack = Stack::create(&issuer).await;
    let env = environment(&stack);
    let sdk = sdk_config().await;
    let api: Arc<Ferry> = wiring::ferry(&env, &sdk, Role::Api).await.unwrap();
    let worker = wiring::ferry(&env, &sdk, Role::Worker).await.unwrap();
    let portal = Portal {
        app: http::app(api.clone()),
        http: reqwest::Client::new(),
    };

    let alice = api
        .ports
        .users
        .create(NewUser {
            email: EmailAddress::parse("alice@example.org").unwrap(),
            name: "Alice".into(),
            roles: vec![UserRole::Member],
            password: None,
        })
        .await
        .unwrap();
    let alice = issuer.token(alice.id.as_str(), &["member"]);

    // The portal's speed test: zeros PUT straight into S3 under speedtest/, which S3 does not
    // announce to the validate queue (its lifecycle rule expires them).
    let (status, speed) = portal
        .post("/api/v1/speed-test", Some(&alice), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{speed}");
    for probe in speed["probes"].as_array().unwrap().iter().take(2) {
        let zeros = vec![0u8; probe["size"].as_u64().unwrap() as usize];
        portal.send(probe, zeros).await;
    }
    assert_eq!(objects_under(&stack, "speedtest/").await, 2);

    let ledger: Vec<u8> = (0..20 * MIB + 4321)
        .map(|i| {
            if i % 64 == 63 {
                b'\n'
            } else {
                b'0' + (i % 10) as u8
            }
        })
        .collect();
    let notes = b"Minutes\nMARKER-NOTES-0c4e was agreed.\n".to_vec();
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0 not a pdf".to_vec();
    let (status, t) = portal
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({
                "recipients": ["bob@example.com"],
                "subject": "Board pack",
                "files": [
                    { "name": "ledger.csv", "size": ledger.len(), "content_type": "text/csv", "md5": md5_b64(&ledger) },
                    { "name": "notes.txt", "size": notes.len(), "content_type": "text/plain", "md5": md5_b64(&notes) },
                    { "name": "report.pdf", "size": elf.len(), "content_type": "application/pdf", "md5": md5_b64(&elf) },
                    { "name": "scan.png", "size": PNG.len(), "content_type": "image/png", "md5": md5_b64(PNG) },
                ]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    assert!(
        doc(&t, "ledger.csv")["upload"]["part_size"].is_u64(),
        "multipart"
    );
    assert_eq!(doc(&t, "notes.txt")["upload"]["method"], "PUT");

    portal.upload(&alice, &t, 0, &ledger).await;
    portal.upload(&alice, &t, 1, &notes).await;
    portal.upload(&alice, &t, 2, &elf).await;
    portal.upload(&alice, &t, 3, PNG).await;
    // Only S3's notifications start validation: nothing else was queued.
    drain_queues(&worker, &stack).await;

    let (status, t) = portal
        .get(&format!("/api/v1/transfers/{tid}"), &alice)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["status"], "sent", "{t}");
    let ledger_doc = doc(&t, "ledger.csv");
    assert_eq!(ledger_doc["status"], "ready");
    assert_eq!(ledger_doc["sha256"], hex::encode(Sha256::digest(&ledger)));
    assert_eq!(ledger_doc["engine"], "native");
    assert!(
        doc(&t, "notes.txt")["text_preview"]
            .as_str()
            .unwrap()
            .contains("MARKER-NOTES-0c4e")
    );
    assert_eq!(doc(&t, "report.pdf")["reason"], "type_not_allowed");
    // With native extraction an image is handed on without text.
    assert_eq!(doc(&t, "scan.png")["status"], "ready");
    assert_eq!(doc(&t, "scan.png")["engine"], "none");
    assert_eq!(doc(&t, "notes.txt")["engine"], "native");
    assert_eq!(
        objects_under(&stack, &format!("transfers/{tid}/")).await,
        3,
        "the rejected bytes are gone"
    );

    // SQS delivers at least once: the same notification again changes nothing.
    let ledger_key = format!("transfers/{tid}/{}", ledger_doc["id"].as_str().unwrap());
    sqs_client()
        .await
        .send_message()
        .queue_url(&stack.vars["VALIDATE_QUEUE_URL"])
        .message_body(json!({ "job": "object_created", "key": ledger_key }).to_string())
        .send()
        .await
        .unwrap();
    drain_queues(&worker, &stack).await;
    let (_, again) = portal
        .get(&format!("/api/v1/transfers/{tid}"), &alice)
        .await;
    assert_eq!(again["status"], "sent");
    assert_eq!(doc(&again, "ledger.csv")["status"], "ready");
    let (_, events) = portal
        .get(&format!("/api/v1/transfers/{tid}/events"), &alice)
        .await;
    let validated = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "document.validated" && e["document_id"] == ledger_doc["id"])
        .count();
    assert_eq!(validated, 1, "a replayed notification is a no-op");

    let receipts = mails_to("alice@example.org").await;
    assert!(
        receipts
            .iter()
            .any(|(s, b)| s.contains("Board pack") && b.contains("report.pdf")),
        "{receipts:?}"
    );
    let invitation = mails_to("bob@example.com").await;
    assert_eq!(invitation.len(), 1, "{invitation:?}");
    let at = invitation[0]
        .1
        .find("/r/")
        .expect("a link in the invitation")
        + 3;
    let link = invitation[0].1[at..at + 43].to_owned();

    let (status, body) = portal
        .post("/api/v1/access", None, json!({ "link_token": link }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    drain_queues(&worker, &stack).await;
    let code_mail = mails_to("bob@example.com")
        .await
        .into_iter()
        .find(|(s, _)| s.starts_with("Your Ferry code"))
        .unwrap();
    let code = code_mail.0.rsplit(' ').next().unwrap().to_owned();
    let (status, body) = portal
        .post(
            "/api/v1/access/verify",
            None,
            json!({ "link_token": link, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bob = body["access_token"].as_str().unwrap().to_owned();

    let ledger_id = ledger_doc["id"].as_str().unwrap();
    let (status, _, headers) = portal
        .call(
            Method::GET,
            &format!("/api/v1/transfers/{tid}/documents/{ledger_id}/content"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap().to_owned();
    let download = portal.http.get(&location).send().await.unwrap();
    assert_eq!(download.status(), reqwest::StatusCode::OK);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("ledger.csv"),
        "{disposition}"
    );
    let bytes = download.bytes().await.unwrap();
    assert_eq!(
        Sha256::digest(&bytes),
        Sha256::digest(&ledger),
        "byte-exact download"
    );

    let (status, done) = portal
        .post(
            &format!("/api/v1/transfers/{tid}/receipt"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    drain_queues(&worker, &stack).await;
    assert_eq!(
        objects_under(&stack, &format!("transfers/{tid}/")).await,
        0,
        "documents purged"
    );
    assert_eq!(
        objects_under(&stack, &format!("text/{tid}/")).await,
        0,
        "text purged"
    );
    // S3 answers 404, or 403 to a signer who may not list the bucket: either way, no bytes.
    let stale = portal.http.get(&location).send().await.unwrap().status();
    assert!(
        matches!(stale.as_u16(), 403 | 404),
        "the old download URL answered {stale}"
    );

    let (status, events) = portal
        .get(&format!("/api/v1/transfers/{tid}/events"), &alice)
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let actions: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for wanted in [
        "transfer.created",
        "document.validated",
        "document.ready",
        "recipient.notified",
        "access.verified",
        "document.downloaded",
        "recipient.received",
        "transfer.purged",
    ] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }
}

#[tokio::test]
async fn an_outside_issuer_names_its_users_itself() {
    let issuer = TestIssuer::start().await;
    let stack = Stack::create(&issuer).await;
    let mut env = environment(&stack);
    env.user_source = ferry_core::config::UserSource::Token;
    let api = wiring::ferry(&env, &sdk_config().await, Role::AdminApi)
        .await
        .unwrap();
    let portal = Portal {
        app: http::app(api),
        http: reqwest::Client::new(),
    };
    // Kim exists only at the issuer, not in the stack's user pool.
    let now = chrono::Utc::now().timestamp();
    let kim = issuer.token_with(json!({
        "sub": "5b1c2d3e-kim", "email": "kim@example.com", "email_verified": true,
        "name": "Kim", "groups": ["admin", "member"], "iat": now, "exp": now + 300,
    }));
    let (status, me) = portal.get("/api/v1/me", &kim).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "kim@example.com");
    assert_eq!(me["roles"], json!(["admin", "member"]));
    let (status, problem) = portal.get("/api/v1/admin/users", &kim).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("identity provider")
    );
}
