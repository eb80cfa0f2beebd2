//! Identifiers. Each is parsed once at the edge so a path segment can never smuggle in a key.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            /// The same id for the same parts, every time: for work that may run twice and
            /// must create one thing (a drop folder's transfer).
            pub fn derived(parts: &[&[u8]]) -> Self {
                use sha2::Digest as _;
                let mut hash = sha2::Sha256::new();
                for part in parts {
                    hash.update((part.len() as u64).to_be_bytes());
                    hash.update(part);
                }
                let digest = hash.finalize();
                let mut bytes = [0; 16];
                bytes.copy_from_slice(&digest[..16]);
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }

            /// Accepts only the canonical hyphenated lowercase form, so one id has one spelling.
            pub fn parse(s: &str) -> Option<Self> {
                let id = Uuid::try_parse(s).ok()?;
                (id.hyphenated().to_string() == s).then_some(Self(id))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A transfer: one sender, its recipients and documents.
    TransferId
);
uuid_id!(
    /// One document of a transfer.
    DocumentId
);
uuid_id!(
    /// A delivery of a transfer's documents to a recipient's target system.
    DeliveryId
);
uuid_id!(
    /// One audit event.
    AuditId
);

/// A user's id is the identity provider's `sub`, which is opaque (a UUID in Cognito and
/// ferry-local, anything in other issuers), so it is a bounded printable string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@:|".contains(&b));
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_spelling() {
        let id = TransferId::new();
        assert_eq!(TransferId::parse(&id.to_string()), Some(id));
        assert_eq!(TransferId::parse(&id.to_string().to_uppercase()), None);
        assert_eq!(TransferId::parse("../etc/passwd"), None);
        assert_eq!(TransferId::parse(""), None);
    }

    #[test]
    fn user_ids_are_bounded_and_printable() {
        assert!(UserId::parse("3f9c-aa_b.c").is_some());
        assert!(UserId::parse("a/b").is_none());
        assert!(UserId::parse(&"x".repeat(129)).is_none());
        assert!(UserId::parse("").is_none());
    }
}
