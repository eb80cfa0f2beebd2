//! The storage endpoint's presigned URLs: a URL allows one method, on one key, until one time,
//! for exactly the bytes whose MD5 and size were signed; anything else is refused, unstored.

use crate::helpers::*;
use crate::input::{file, password};
use hmac::{Hmac, Mac};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use sha2::Sha256;

const MIB: usize = 1024 * 1024;

/// Presigned URLs with a changed signature, key, expiry, MD5, size or method, or used after
/// they expired, get 403 from storage; the documents stay awaiting_upload with no byte stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t16_tampered_presigned_urls_are_refused() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;
    let a = b"MARKER-T16-A-41c9 first document\n".to_vec();
    let b = b"MARKER-T16-B-8d02 second document\n".to_vec();
    let c = b"MARKER-T16-C-e77f another transfer\n".to_vec();
    let big = 17 * MIB;
    let (status, t1) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "One", "files": [
                file("a.txt", &a, "text/plain"),
                file("b.txt", &b, "text/plain"),
                { "name": "big.txt", "size": big, "content_type": "text/plain", "md5": md5_b64(b"unused") },
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t1}");
    let (status, t2) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Two", "files": [file("c.txt", &c, "text/plain")] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t2}");
    let url_a = t1["documents"][0]["upload"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_b = object_key(&t1, 1);
    let key_c = object_key(&t2, 0);

    // Each tampered request: the URL, the Content-MD5 header (if any) and the body.
    let query = |name: &str, value: Option<&str>| with_param(&url_a, name, value);
    let expires: i64 = param(&url_a, "expires").parse().unwrap();
    let sig = param(&url_a, "sig");
    let flipped = format!(
        "{}{}",
        &sig[..sig.len() - 1],
        if sig.ends_with('0') { '1' } else { '0' }
    );
    let later = (expires + 3600).to_string();
    let md5_a = md5_b64(&a);
    let md5_b = md5_b64(&b);
    let padded = [a.as_slice(), b"!"].concat();
    let cases: Vec<(&str, String, Option<String>, Vec<u8>)> = vec![
        (
            "a changed signature",
            query("sig", Some(&flipped)),
            Some(md5_a.clone()),
            a.clone(),
        ),
        (
            "no signature",
            query("sig", None),
            Some(md5_a.clone()),
            a.clone(),
        ),
        (
            "a truncated signature",
            query("sig", Some(&sig[..32])),
            Some(md5_a.clone()),
            a.clone(),
        ),
        (
            "another document's key",
            with_key(&url_a, &key_b),
            Some(md5_a.clone()),
            a.clone(),
        ),
        (
            "the key of another document, with its bytes",
            with_key(&url_a, &key_b),
            Some(md5_b.clone()),
            b.clone(),
        ),
        (
            "another transfer's key",
            with_key(&url_a, &key_c),
            Some(md5_a.clone()),
            a.clone(),
        ),
        (
            "an expiry pushed later",
            query("expires", Some(&later)),
            Some(md5_a.clone()),
            a.clone(),
        ),
        (
            "no expiry",
            query("expires", None),
            Some(md5_a.clone()),
            a.clone(),
        ),
        (
            "a different signed MD5",
            query("content-md5", Some(&md5_b)),
            Some(md5_b.clone()),
            b.clone(),
        ),
        (
            "a larger signed size",
            query("size", Some(&padded.len().to_string())),
            Some(md5_b64(&padded)),
            padded.clone(),
        ),
        (
            "a Content-MD5 other than the signed one",
            url_a.clone(),
            Some(md5_b.clone()),
            b.clone(),
        ),
        ("no Content-MD5", url_a.clone(), None, a.clone()),
        (
            "a repeated parameter",
            format!("{url_a}&expires={later}"),
            Some(md5_a.clone()),
            a.clone(),
        ),
    ];
    // A refused request's connection may be closed with the body unread: a new one each time.
    let http = unpooled();
    for (what, url, md5, body) in cases {
        let mut req = http.put(&url).body(body);
        if let Some(md5) = md5 {
            req = req.header("Content-MD5", md5);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {text}");
    }
    // The upload URL does not download, and a download URL cannot be made from it.
    let resp = app.http.get(&url_a).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // A URL signed with the store's real key but expired: refused for its age. The signing is
    // first checked against the URL the server made, so the refusal is the expiry's.
    let signing_key = hex::decode(
        std::fs::read_to_string(app.data_dir.join("storage-signing.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let key_a = object_key(&t1, 0);
    let params = [
        ("size", a.len().to_string()),
        ("content-md5", md5_a.clone()),
    ];
    assert_eq!(
        storage_signature(&signing_key, "PUT", "object", &key_a, expires, &params),
        sig,
        "the test signs URLs as the store does"
    );
    let past = chrono::Utc::now().timestamp() - 120;
    let expired = with_param(
        &query("expires", Some(&past.to_string())),
        "sig",
        Some(&storage_signature(
            &signing_key,
            "PUT",
            "object",
            &key_a,
            past,
            &params,
        )),
    );
    let resp = http
        .put(&expired)
        .header("Content-MD5", &md5_a)
        .body(a.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("expired"));

    // A multipart upload's part URL: another part number, another upload id, another key, or
    // used as a whole object's URL.
    let tid1 = t1["id"].as_str().unwrap();
    let big_id = t1["documents"][2]["id"].as_str().unwrap();
    // A small body: a signature is checked before the body is read, so a refused request may
    // have its connection closed with a large body still being sent.
    let part = b"MARKER-T16-PART-c3d1 a part\n".to_vec();
    let (status, signed) = app
        .post(
            &format!("/api/v1/transfers/{tid1}/documents/{big_id}/parts"),
            Some(&alice),
            json!({ "parts": [{ "number": 1, "md5": md5_b64(&part) }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let part_url = signed["parts"][0]["url"].as_str().unwrap().to_owned();
    let upload_id = param(&part_url, "uploadId");
    let other_upload = format!(
        "{}{}",
        &upload_id[..upload_id.len() - 1],
        if upload_id.ends_with('a') { 'b' } else { 'a' }
    );
    let part_cases = [
        (
            "another part number",
            with_param(&part_url, "partNumber", Some("2")),
        ),
        (
            "another upload id",
            with_param(&part_url, "uploadId", Some(&other_upload)),
        ),
        ("another key", with_key(&part_url, &key_b)),
        (
            "a part URL used for a whole object",
            with_param(&with_param(&part_url, "uploadId", None), "partNumber", None),
        ),
    ];
    for (what, url) in part_cases {
        let resp = http
            .put(&url)
            .header("Content-MD5", md5_b64(&part))
            .body(part.clone())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {text}");
    }

    // Nothing moved: every document awaits its bytes, and no byte of them is on disk.
    for (t, n) in [(&t1, 3), (&t2, 1)] {
        let tid = t["id"].as_str().unwrap();
        let (_, now) = app.get(&format!("/api/v1/transfers/{tid}"), &alice).await;
        assert_eq!(now["status"], "uploading");
        for i in 0..n {
            assert_eq!(now["documents"][i]["status"], "awaiting_upload", "{now}");
        }
    }
    for marker in [
        "MARKER-T16-A-41c9",
        "MARKER-T16-B-8d02",
        "MARKER-T16-C-e77f",
        "MARKER-T16-PART-c3d1",
    ] {
        assert_eq!(dir_contains(&app.data_dir, marker.as_bytes()), None);
    }

    // The untampered URL itself was good all along.
    let resp = http
        .put(&url_a)
        .header("Content-MD5", &md5_a)
        .body(a.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = http
        .put(&url_a)
        .header("Content-MD5", &md5_a)
        .body(a.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::PRECONDITION_FAILED,
        "a second PUT never replaces the bytes"
    );

    app.assert_log_free_of(&[
        &admin,
        &alice,
        ADMIN_PASSWORD,
        &password("alice@example.org"),
        &sig,
        &flipped,
        "MARKER-T16-A-41c9",
        "MARKER-T16-B-8d02",
        "MARKER-T16-C-e77f",
        "MARKER-T16-PART-c3d1",
    ]);
}

/// Bytes that differ from the signed Content-MD5, or run past the declared size, are refused
/// by storage; a multipart upload whose whole file differs from the declared MD5 is rejected
/// as checksum_mismatch and never offered to the recipients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t17_bytes_that_break_their_promise_are_rejected() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;

    // One PUT: the bytes must be the promised ones, no more and no fewer.
    let small = b"MARKER-T17-SMALL-0b3e the promised bytes\n".to_vec();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Single", "files": [file("s.txt", &small, "text/plain")] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    let url = t["documents"][0]["upload"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let md5 = md5_b64(&small);
    let mut other = small.clone();
    other[10] ^= 1;
    let longer = [small.as_slice(), b"MARKER-T17-EXTRA-9a9a"].concat();
    let http = unpooled();
    let put = |body: reqwest::Body| http.put(&url).header("Content-MD5", &md5).body(body);
    let refusals: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
        (
            "other bytes of the same size",
            put(other.clone().into()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "more bytes, declared",
            put(longer.clone().into()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "more bytes, streamed without a length",
            put(chunked(&longer)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "fewer bytes, streamed without a length",
            put(chunked(&small[..small.len() - 1])),
            StatusCode::BAD_REQUEST,
        ),
        (
            "fewer bytes, declared",
            put(small[..small.len() - 1].to_vec().into()),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, req, expected) in refusals {
        let resp = req.send().await.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, expected, "{what}: {text}");
        assert!(text.contains("nothing was stored"), "{what}: {text}");
    }
    let (_, now) = app.get(&format!("/api/v1/transfers/{tid}"), &alice).await;
    assert_eq!(now["documents"][0]["status"], "awaiting_upload", "{now}");
    assert_eq!(dir_contains(&app.data_dir, b"MARKER-T17-SMALL-0b3e"), None);
    assert_eq!(dir_contains(&app.data_dir, b"MARKER-T17-EXTRA-9a9a"), None);

    // Multipart: the sender promised these bytes, then sends others in well-signed parts.
    let promised = csv(17 * MIB + 5, "MARKER-T17-BIG-51f0");
    let mut sent = promised.clone();
    let at = 16 * MIB + 100;
    sent[at] = if sent[at] == b'x' { b'y' } else { b'x' };
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Multipart", "files": [file("big.csv", &promised, "text/csv")] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let mtid = t["id"].as_str().unwrap().to_owned();
    let did = t["documents"][0]["id"].as_str().unwrap().to_owned();
    let part_size = t["documents"][0]["upload"]["part_size"].as_u64().unwrap() as usize;
    let parts: Vec<&[u8]> = sent.chunks(part_size).collect();
    assert_eq!(parts.len(), 2);
    let (status, signed) = app
        .post(
            &format!("/api/v1/transfers/{mtid}/documents/{did}/parts"),
            Some(&alice),
            json!({ "parts": [
                { "number": 1, "md5": md5_b64(parts[0]) },
                { "number": 2, "md5": md5_b64(parts[1]) },
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let part_url = |n: usize| signed["parts"][n]["url"].as_str().unwrap().to_owned();

    // A part with more bytes than its size, and a part whose bytes differ from its MD5.
    // (Streamed, so that storage reads them: a declared length that is too long is refused
    // before the body is read, which the single PUT above already shows.)
    let mut altered = parts[0].to_vec();
    altered[1234] ^= 1;
    let part_refusals = [
        (
            "a longer part, streamed",
            part_url(1),
            md5_b64(parts[1]),
            chunked(&[parts[1], b"MARKER-T17-EXTRA-9a9a"].concat()),
        ),
        (
            "a part with other bytes",
            part_url(0),
            md5_b64(parts[0]),
            reqwest::Body::from(altered),
        ),
    ];
    for (what, url, md5, body) in part_refusals {
        let resp = http
            .put(&url)
            .header("Content-MD5", md5)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {text}");
    }

    let mut etags = Vec::new();
    for (i, bytes) in parts.iter().enumerate() {
        let resp = app
            .http
            .put(part_url(i))
            .header("Content-MD5", md5_b64(bytes))
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        etags.push(json!({ "number": i + 1, "etag": resp.headers()["etag"].to_str().unwrap() }));
    }
    // Completing with the MD5 of what was really sent: it is not what was promised.
    let (status, problem) = app
        .post(
            &format!("/api/v1/transfers/{mtid}/documents/{did}/complete"),
            Some(&alice),
            json!({ "parts": etags, "md5": md5_b64(&sent) }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(crate::input::has_detail(&problem, "md5"), "{problem}");
    let (_, now) = app.get(&format!("/api/v1/transfers/{mtid}"), &alice).await;
    assert_eq!(now["documents"][0]["status"], "awaiting_upload", "{now}");

    // Completing with the promised MD5: storage assembles the parts, validation finds out.
    let (status, body) = app
        .post(
            &format!("/api/v1/transfers/{mtid}/documents/{did}/complete"),
            Some(&alice),
            json!({ "parts": etags, "md5": md5_b64(&promised) }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = app
        .wait_for(&alice, &mtid, "the transfer to end", |t| {
            t["status"] == "cancelled"
        })
        .await;
    let doc = &done["documents"][0];
    assert_eq!(doc["status"], "rejected", "{doc}");
    assert_eq!(doc["reason"], "checksum_mismatch", "{doc}");
    app.wait_for_mail("alice@example.org", "Not sent:", 1).await;
    assert!(
        app.mails()
            .await
            .iter()
            .all(|(to, _, _)| !to.contains("bob@example.com")),
        "the recipient was offered a document that broke its promise"
    );
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/transfers/{mtid}/documents/{did}/content"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(dir_contains(&app.data_dir, b"MARKER-T17-BIG-51f0"), None);
    assert_eq!(dir_contains(&app.data_dir, &sent[at - 40..at + 40]), None);

    app.assert_log_free_of(&[
        &admin,
        &alice,
        ADMIN_PASSWORD,
        &password("alice@example.org"),
        "MARKER-T17-SMALL-0b3e",
        "MARKER-T17-EXTRA-9a9a",
        "MARKER-T17-BIG-51f0",
    ]);
}

/// A client that opens a new connection for every request.
fn unpooled() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// `transfers/{tid}/{did}` of the transfer's `index`th document.
fn object_key(t: &Value, index: usize) -> String {
    format!(
        "transfers/{}/{}",
        t["id"].as_str().unwrap(),
        t["documents"][index]["id"].as_str().unwrap()
    )
}

/// A query parameter of a URL, decoded.
fn param(url: &str, name: &str) -> String {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in the URL"))
        .1
        .into_owned()
}

/// The URL with one query parameter set to `value`, added if missing, or removed (`None`).
fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut url = Url::parse(url).unwrap();
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .filter(|(k, _)| k != name)
        .collect();
    if let Some(value) = value {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

/// The URL, signed for one key, pointed at another.
fn with_key(url: &str, key: &str) -> String {
    let mut url = Url::parse(url).unwrap();
    url.set_path(&format!("/_storage/{key}"));
    url.to_string()
}

/// A body sent with chunked encoding, so no Content-Length announces its size.
fn chunked(bytes: &[u8]) -> reqwest::Body {
    let size = if bytes.len() > 4096 { 64 * 1024 } else { 7 };
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(size).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

/// The signature ferry-local's store puts on a presigned URL: HMAC-SHA256 over length-prefixed
/// fields (context, method, kind, key, expiry, then each grant parameter's name and value).
fn storage_signature(
    key: &[u8],
    method: &str,
    kind: &str,
    object_key: &str,
    expires: i64,
    params: &[(&str, String)],
) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    let expires = expires.to_string();
    let mut fields: Vec<&[u8]> = vec![
        b"ferry-local storage v1",
        method.as_bytes(),
        kind.as_bytes(),
        object_key.as_bytes(),
        expires.as_bytes(),
    ];
    for (name, value) in params {
        fields.push(name.as_bytes());
        fields.push(value.as_bytes());
    }
    for field in fields {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field);
    }
    hex::encode(mac.finalize().into_bytes())
}
