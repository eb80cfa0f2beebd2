//! F4 access links and emailed codes: guessing links, guessing codes, flooding an inbox
//! (t06–t08).

use crate::helpers::*;
use crate::tokens::{
    all_codes, api, client_from, codes_to, link_for, member, random_link, sent_transfer,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

const BOB: &str = "bob@example.com";

/// Guessed link tokens all answer the same 404; the real link works, and once its transfer is
/// completed or cancelled it answers that same 404 and mails nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t06_link_tokens_are_unguessable_and_die_with_their_transfer() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let (password, tokens) = member(&app, &admin, "alice@example.org").await;
    let alice = tokens["access_token"].as_str().unwrap().to_owned();
    let (m1, m2) = ("MARKER-T06-one-51c0", "MARKER-T06-two-a3e9");
    let t1 = sent_transfer(&app, &alice, &[BOB], "Link one", m1).await;
    let t2 = sent_transfer(&app, &alice, &[BOB], "Link two", m2).await;
    let l1 = link_for(&app, BOB, "Link one").await;
    let l2 = link_for(&app, BOB, "Link two").await;
    let mails_before = app.mails().await.len();

    // Guesses, from another address so the guesser's quota is its own.
    let guesser = client_from("127.0.0.2");
    let guesses: Vec<String> = (0..10).map(|_| random_link()).collect();
    let mut bodies = Vec::new();
    for guess in &guesses {
        let reply = api(guesser
            .post(app.url("/api/v1/access"))
            .json(&json!({ "link_token": guess })))
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
        bodies.push(reply.body);
        let reply = api(guesser
            .post(app.url("/api/v1/access/verify"))
            .json(&json!({ "link_token": guess, "code": "123456" })))
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
        bodies.push(reply.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every guess answers alike: {bodies:?}"
    );
    let unknown = bodies[0].clone();
    assert_eq!(app.mails().await.len(), mails_before, "a guess sent mail");

    // The real link works.
    let bob = app.recipient_token(&l1, BOB).await;
    let tid1 = t1["id"].as_str().unwrap();
    let (status, done) = app
        .post(
            &format!("/api/v1/transfers/{tid1}/receipt"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");

    // Sender cancels the other one.
    let tid2 = t2["id"].as_str().unwrap();
    let (status, cancelled) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/transfers/{tid2}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");

    // Both links are dead now: no code is mailed, no token is issued.
    let codes_before = codes_to(&app, BOB).await;
    let mails_before = app.mails().await.len();
    for link in [&l1, &l2] {
        // Its rows are gone with the transfer: a dead link answers like one that never was.
        let reply = api(app
            .http
            .post(app.url("/api/v1/access"))
            .json(&json!({ "link_token": link })))
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
        assert_eq!(reply.body, unknown);
        let code = codes_before.first().cloned().unwrap_or_default();
        let reply = api(app
            .http
            .post(app.url("/api/v1/access/verify"))
            .json(&json!({ "link_token": link, "code": code })))
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
        assert_eq!(reply.body, unknown);
    }
    assert_eq!(app.mails().await.len(), mails_before);
    assert_eq!(codes_to(&app, BOB).await, codes_before);
    // And both transfers stay ended.
    for tid in [tid1, tid2] {
        let (_, t) = app.get(&format!("/api/v1/transfers/{tid}"), &alice).await;
        assert!(t["status"] == "completed" || t["status"] == "cancelled");
    }

    let mut secrets = vec![
        alice,
        password,
        admin,
        bob,
        l1,
        l2,
        m1.to_owned(),
        m2.to_owned(),
    ];
    secrets.extend(guesses);
    secrets.extend(all_codes(&app).await);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Five wrong codes lock the link for 15 minutes (429 with Retry-After); while locked even the
/// right code is refused, no token is issued and no new code is mailed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t07_code_brute_force_locks_the_link() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let (password, tokens) = member(&app, &admin, "alice@example.org").await;
    let alice = tokens["access_token"].as_str().unwrap().to_owned();
    let marker = "MARKER-T07-lock-0b4d";
    let t = sent_transfer(&app, &alice, &[BOB], "Locked", marker).await;
    let tid = t["id"].as_str().unwrap();
    let link = link_for(&app, BOB, "Locked").await;

    let reply = api(app
        .http
        .post(app.url("/api/v1/access"))
        .json(&json!({ "link_token": link })))
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let code = wait_for_code(&app, 1).await;
    let right: u32 = code.parse().unwrap();
    let wrong: Vec<String> = (1..=5)
        .map(|i| format!("{:06}", (right + i * 104_729) % 1_000_000))
        .collect();

    let verify = |code: String| {
        let req = app
            .http
            .post(app.url("/api/v1/access/verify"))
            .json(&json!({ "link_token": link, "code": code }));
        api(req)
    };
    for (i, guess) in wrong.iter().enumerate() {
        let reply = verify(guess.clone()).await;
        assert!(reply.body.get("access_token").is_none());
        if i < 4 {
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
            assert!(reply.headers.contains_key("www-authenticate"));
            let left = 4 - i;
            assert!(
                reply.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("{left} attempt")),
                "{}",
                reply.body
            );
        } else {
            assert_locked(&reply);
        }
    }

    // Locked: the right code, a new code request, and the right code again are all refused.
    let reply = verify(code.clone()).await;
    assert_locked(&reply);
    assert!(reply.body.get("access_token").is_none());
    let reply = api(app
        .http
        .post(app.url("/api/v1/access"))
        .json(&json!({ "link_token": link })))
    .await;
    assert_locked(&reply);
    let reply = verify(code.clone()).await;
    assert_locked(&reply);
    assert_eq!(
        codes_to(&app, BOB).await.len(),
        1,
        "no code mailed while locked"
    );

    // Nothing was granted: Bob is still only notified, and the trail shows no verification.
    let (_, seen) = app.get(&format!("/api/v1/transfers/{tid}"), &alice).await;
    assert_eq!(seen["recipients"][0]["status"], "notified");
    let actions = app.audit_actions(&alice, tid).await;
    assert!(
        !actions.iter().any(|a| a == "access.verified"),
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "access.code_rejected")
            .count(),
        5,
        "{actions:?}"
    );

    let mut secrets = vec![alice, password, admin, link, code, marker.to_owned()];
    secrets.extend(wrong);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Code requests past the per-link cap (5/hour) or the per-inbox rate (here 8/hour, from any
/// address) get 429 with Retry-After, and the inbox gets no more codes than the caps allow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t08_a_code_flood_cannot_spam_an_inbox() {
    let app = spawn_logged(
        vec!["--rate-limits".into(), "request-code=8/hour".into()],
        vec![],
    )
    .await;
    let admin = app.admin_token().await;
    let (password, tokens) = member(&app, &admin, "alice@example.org").await;
    let alice = tokens["access_token"].as_str().unwrap().to_owned();
    let (m1, m2) = ("MARKER-T08-one-c7d1", "MARKER-T08-two-2e6a");
    sent_transfer(&app, &alice, &[BOB], "Flood one", m1).await;
    sent_transfer(&app, &alice, &[BOB], "Flood two", m2).await;
    let l1 = link_for(&app, BOB, "Flood one").await;
    let l2 = link_for(&app, BOB, "Flood two").await;
    let ask = |client: &reqwest::Client, link: &str| {
        let req = client
            .post(app.url("/api/v1/access"))
            .json(&json!({ "link_token": link }));
        api(req)
    };

    // One link: five codes an hour, then 429 until the oldest is an hour old.
    let first = client_from("127.0.0.2");
    for _ in 0..5 {
        let reply = ask(&first, &l1).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    }
    let reply = ask(&first, &l1).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    let retry = retry_after(&reply);
    assert!((3000..=3600).contains(&retry), "Retry-After {retry}");
    assert_eq!(codes_to(&app, BOB).await.len(), 5);

    // The same inbox through a second link and a second address: the inbox's quota (8, of
    // which the first address used 6) runs out after two more.
    let second = client_from("127.0.0.3");
    for _ in 0..2 {
        let reply = ask(&second, &l2).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    }
    for client in [&second, &client_from("127.0.0.4"), &app.http] {
        let reply = ask(client, &l2).await;
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            reply.body
        );
        assert!(retry_after(&reply) >= 1);
    }
    for client in [&second, &first] {
        let reply = ask(client, &l1).await;
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            reply.body
        );
    }

    // The inbox got exactly what the caps allow, and nobody else got codes.
    let codes = codes_to(&app, BOB).await;
    assert_eq!(
        codes.len(),
        7,
        "5 through the first link, 2 through the second"
    );
    assert!(codes.len() <= 8);
    assert_eq!(all_codes(&app).await.len(), codes.len());

    let mut secrets = vec![alice, password, admin, l1, l2, m1.to_owned(), m2.to_owned()];
    secrets.extend(codes);
    app.assert_log_free_of(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

fn retry_after(reply: &crate::tokens::Reply) -> u64 {
    reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// 429 with a Retry-After of about the 15-minute lockout, and no token.
fn assert_locked(reply: &crate::tokens::Reply) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    let retry = retry_after(reply);
    assert!((14 * 60..=15 * 60).contains(&retry), "Retry-After {retry}");
    assert!(reply.body.get("access_token").is_none());
}

/// The newest code once `count` codes have reached Bob.
async fn wait_for_code(app: &TestApp, count: usize) -> String {
    let mails = app.wait_for_mail(BOB, "Your Ferry code", count).await;
    mails[0].1.rsplit(' ').next().unwrap().to_owned()
}
