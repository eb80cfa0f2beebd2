#![no_main]
//! Every kind of secret a caller presents: access link tokens, hashed codes, recipient tokens
//! and identity provider tokens. A verifier accepts exactly the one token that was issued with
//! the fixture's keys, and nothing else the fuzzer makes of it.
//!
//! Each input is tried twice over: as a token itself, and as a list of edits (3 bytes each: a
//! position, then a byte that replaces, deletes or inserts) applied to each of the valid
//! tokens, so that near misses of a real token are tried from the first run on.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_core::Error;
use ferry_core::auth::Caller;
use ferry_core::auth::oidc::OidcVerifier;
use ferry_core::auth::recipient::RecipientTokens;
use ferry_core::tokens::{hash_secret, hashes_match, is_link_token};
use ferry_core::values::EmailAddress;
use ferry_fuzz::{
    Harness, LINK_TOKEN, OIDC_TOKEN, RECIPIENT_EMAIL, block_on, issued_recipient_token,
    oidc_verifier,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Fixture {
    recipient: RecipientTokens,
    issued: String,
    oidc: OidcVerifier,
    /// A transfer whose recipient was sent [`LINK_TOKEN`].
    harness: Harness,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let recipient = ferry_fuzz::recipient_tokens();
        let issued = issued_recipient_token(&recipient);
        let harness = Harness::new();
        block_on(give_link(&harness));
        let fixture = Fixture {
            recipient,
            issued,
            oidc: oidc_verifier(),
            harness,
        };
        // Without these the properties below would hold for want of any valid token.
        assert!(fixture.recipient.verify(&fixture.issued).is_some());
        assert!(block_on(fixture.oidc.verify(OIDC_TOKEN)).is_ok());
        let ferry = &fixture.harness.ferry;
        assert!(matches!(
            block_on(ferry.authenticate(OIDC_TOKEN)),
            Ok(Caller::User(_))
        ));
        assert!(matches!(
            block_on(ferry.authenticate(&fixture.issued)),
            Ok(Caller::Recipient(_))
        ));
        assert!(block_on(ferry.request_code(LINK_TOKEN, None)).is_ok());
        fixture
    })
}

/// Stores the hash of [`LINK_TOKEN`] as the recipient's link, as notifying them would.
async fn give_link(h: &Harness) {
    let catalog = &h.ferry.ports.catalog;
    let mut transfer = catalog
        .get_transfer(h.transfer.id)
        .await
        .expect("the in-memory catalog")
        .expect("the harness transfer");
    let email = EmailAddress::parse(RECIPIENT_EMAIL).expect("an email address");
    transfer
        .recipient_mut(&email)
        .expect("the harness recipient")
        .link_hash = Some(hash_secret(LINK_TOKEN, "link"));
    catalog
        .save_transfer(&transfer)
        .await
        .expect("the transfer is saved");
}

/// `base` with the edits in `script`: 3 bytes each, a position (modulo the length + 1) and a
/// byte that replaces the one there (printable ASCII), deletes it (below `!`) or inserts a
/// base64url character (`0x7F` and above). Tokens are ASCII, and so is every edit.
fn edited(base: &str, script: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = base.as_bytes().to_vec();
    for edit in script.chunks(3) {
        let [hi, lo, op] = [0, 1, 2].map(|i| edit.get(i).copied().unwrap_or(0));
        let at = usize::from(u16::from_be_bytes([hi, lo])) % (bytes.len() + 1);
        match op {
            b'!'..=b'~' if at < bytes.len() => bytes[at] = op,
            b'!'..=b'~' => bytes.push(op),
            0..b'!' if at < bytes.len() => {
                bytes.remove(at);
            }
            0..b'!' => {}
            _ => bytes.insert(at, ALPHABET[usize::from(op & 0x3F)]),
        }
    }
    String::from_utf8(bytes).expect("ASCII edits of an ASCII token")
}

fn check(f: &Fixture, token: &str) {
    if is_link_token(token) {
        assert_eq!(token.len(), 43);
        let bytes = URL_SAFE_NO_PAD.decode(token).expect("a link token decodes");
        // One token, one spelling: otherwise two strings would open the same link but hash
        // differently.
        assert_eq!(URL_SAFE_NO_PAD.encode(bytes), token);
    }

    let hash = hash_secret(token, "context");
    assert_eq!(hash.len(), 64);
    assert!(
        hash.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert!(hashes_match(&hash, &hash_secret(token, "context")));
    assert!(!hashes_match(&hash, &hash_secret(token, "other")));
    let (a, b) = token.split_at(token.floor_char_boundary(token.len() / 2));
    assert_eq!(hashes_match(a, b), a == b);

    if f.recipient.verify(token).is_some() {
        assert_eq!(token, f.issued, "a recipient token that was never issued");
        assert!(RecipientTokens::is_recipient_token(token));
    }
    if block_on(f.oidc.verify(token)).is_ok() {
        assert_eq!(
            token, OIDC_TOKEN,
            "an identity provider token that was never signed"
        );
    }
    let ferry = &f.harness.ferry;
    match block_on(ferry.authenticate(token)) {
        Ok(Caller::User(_)) => assert_eq!(token, OIDC_TOKEN),
        Ok(Caller::Recipient(_)) => assert_eq!(token, f.issued),
        Err(Error::Unauthenticated(_)) => {}
        Err(e) => panic!("authenticate failed with {e:?}, not as unauthenticated"),
    }
    // The link: only the one that was sent opens it (and, once opened too often, is throttled).
    match block_on(ferry.request_code(token, None)) {
        Ok(()) | Err(Error::TooManyRequests { .. }) => {
            assert_eq!(token, LINK_TOKEN, "a link that was never sent opened")
        }
        Err(Error::Invalid(_) | Error::NotFound(_)) => {}
        Err(e) => panic!("request_code failed with {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    check(f, &String::from_utf8_lossy(data));
    for base in [f.issued.as_str(), OIDC_TOKEN, LINK_TOKEN] {
        let token = edited(base, data);
        if token != base {
            check(f, &token);
        }
    }
});
