//! S3ObjectStore against moto's S3: presigned PUTs and parts sent by an HTTP client as a browser
//! would, streaming reads, presigned downloads, deletes.

use crate::harness::{s3_client, unique};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use ferry_aws::s3::S3ObjectStore;
use ferry_core::ports::{CompletedPart, ObjectStore, PresignedRequest, StoreError};
use ferry_core::values::ContentMd5;
use futures_util::StreamExt;
use md5::{Digest, Md5};

async fn store() -> S3ObjectStore {
    let client = s3_client().await;
    let bucket = unique("ferry-test");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    S3ObjectStore::new(client, bucket)
}

fn md5(bytes: &[u8]) -> ContentMd5 {
    ContentMd5::parse(&STANDARD.encode(Md5::digest(bytes))).unwrap()
}

async fn send(plan: &PresignedRequest, body: Vec<u8>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(plan.method.parse().unwrap(), &plan.url)
        .body(body);
    for (name, value) in &plan.headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

async fn read(store: &S3ObjectStore, key: &str) -> Option<Vec<u8>> {
    let mut stream = store.get(key).await.unwrap()?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    Some(out)
}

fn soon() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::minutes(10)
}

#[tokio::test]
async fn a_presigned_put_stores_exactly_the_declared_bytes() {
    let store = store().await;
    let key = "transfers/t1/d1";
    let body = b"%PDF-1.7 a small document".to_vec();
    let plan = store
        .presign_put(key, &md5(&body), body.len() as u64, soon())
        .await
        .unwrap();
    assert_eq!(plan.method, "PUT");
    assert_eq!(plan.headers["Content-MD5"], md5(&body).to_base64());
    assert_eq!(
        plan.headers["If-None-Match"], "*",
        "overwrites are refused by S3"
    );
    assert!(!plan.headers.keys().any(|h| h.eq_ignore_ascii_case("host")));

    // S3 checks these against the request; moto does not, so the signature is what is tested.
    let url = reqwest::Url::parse(&plan.url).unwrap();
    let signed = url
        .query_pairs()
        .find(|(k, _)| k == "X-Amz-SignedHeaders")
        .unwrap()
        .1
        .into_owned();
    for header in ["content-length", "content-md5", "host", "if-none-match"] {
        assert!(
            signed.split(';').any(|h| h == header),
            "{header} is signed: {signed}"
        );
    }

    let put = send(&plan, body.clone()).await;
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    assert_eq!(store.size(key).await.unwrap(), Some(body.len() as u64));
    assert_eq!(read(&store, key).await.unwrap(), body);
    let again = send(&plan, body.clone()).await;
    assert_eq!(
        again.status(),
        412,
        "an upload never replaces a stored object"
    );
}

#[tokio::test]
async fn multipart_uploads_complete_once_and_refuse_bad_parts() {
    let store = store().await;
    let key = "transfers/t2/d2";
    // S3 wants every part but the last to be 5 MiB at least.
    let first: Vec<u8> = (0..5 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let last = b"the end".to_vec();
    let upload = store.create_multipart(key).await.unwrap();
    let mut etags = Vec::new();
    for (number, part) in [(1u32, &first), (2, &last)] {
        let plan = store
            .presign_part(key, &upload, number, &md5(part), part.len() as u64, soon())
            .await
            .unwrap();
        let response = send(&plan, part.clone()).await;
        assert!(response.status().is_success(), "{}", response.status());
        etags.push(response.headers()["etag"].to_str().unwrap().to_owned());
    }
    let wrong = [
        CompletedPart {
            number: 1,
            etag: etags[0].clone(),
        },
        CompletedPart {
            number: 2,
            etag: "\"00000000000000000000000000000000\"".into(),
        },
    ];
    assert!(matches!(
        store.complete_multipart(key, &upload, &wrong).await,
        Err(StoreError::InvalidParts(_))
    ));
    let parts: Vec<CompletedPart> = etags
        .iter()
        .enumerate()
        .map(|(i, etag)| CompletedPart {
            number: i as u32 + 1,
            etag: etag.clone(),
        })
        .collect();
    store
        .complete_multipart(key, &upload, &parts)
        .await
        .unwrap();
    store
        .complete_multipart(key, &upload, &parts)
        .await
        .expect("a retried completion succeeds");
    let stored = read(&store, key).await.unwrap();
    assert_eq!(stored.len(), first.len() + last.len());
    assert!(stored.starts_with(&first) && stored.ends_with(&last));

    let other = "transfers/t2/d3";
    let aborted = store.create_multipart(other).await.unwrap();
    store.abort_multipart(other, &aborted).await.unwrap();
    store.abort_multipart(other, &aborted).await.unwrap();
}

#[tokio::test]
async fn downloads_are_presigned_with_a_safe_name_and_deletes_remove_everything() {
    let store = store().await;
    let key = "transfers/t3/d3";
    store
        .put_small(key, bytes::Bytes::from_static(b"report body"), "text/plain")
        .await
        .unwrap();
    let url = store
        .presign_get(key, "Q3 \"report\"\r\n.pdf", "application/pdf", soon())
        .await
        .unwrap();
    let response = reqwest::get(&url).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"Q3 report.pdf\""),
        "{disposition}"
    );
    assert_eq!(response.bytes().await.unwrap(), "report body");

    store.delete(key).await.unwrap();
    assert_eq!(store.size(key).await.unwrap(), None);
    assert!(store.get(key).await.unwrap().is_none());
    store.delete(key).await.expect("deleting twice is fine");
}
