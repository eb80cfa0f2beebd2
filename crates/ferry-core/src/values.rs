//! Value types parsed once at the edge: the core never re-checks them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A mailbox address, normalised to lower case so that one person has one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.len() > 254 {
            return Err("an email address has at most 254 characters".into());
        }
        // Display names, comments and quoted local parts are valid RFC 5322 but have no place
        // in a recipient list, and they are how header injection gets in.
        if trimmed
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "<>\"(),;\\".contains(c))
        {
            return Err(format!(
                "'{}' is not a plain email address",
                printable(trimmed)
            ));
        }
        let parsed: email_address::EmailAddress = trimmed
            .parse()
            .map_err(|e| format!("'{}' is not a valid email address: {e}", printable(trimmed)))?;
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('[') {
            return Err(format!(
                "'{}' needs a domain name such as example.org",
                printable(trimmed)
            ));
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An MD5 digest as HTTP's `Content-MD5` spells it: base64 of the 16 raw bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentMd5([u8; 16]);

impl ContentMd5 {
    pub fn parse(b64: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(b64.trim())
            .map_err(|_| "md5 must be the base64 of the 16-byte MD5 digest (as in Content-MD5)")?;
        let digest: [u8; 16] = bytes.try_into().map_err(|v: Vec<u8>| {
            format!("md5 must decode to 16 bytes, this one has {}", v.len())
        })?;
        Ok(Self(digest))
    }

    pub fn from_digest(digest: [u8; 16]) -> Self {
        Self(digest)
    }

    pub fn digest(&self) -> &[u8; 16] {
        &self.0
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for ContentMd5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentMd5({})", self.to_base64())
    }
}

impl fmt::Display for ContentMd5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl TryFrom<String> for ContentMd5 {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ContentMd5> for String {
    fn from(value: ContentMd5) -> Self {
        value.to_base64()
    }
}

/// A role granted by the identity provider's groups claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }
}

/// Text a person typed (a name, a subject, a message): bounded, with control characters, bidi
/// overrides and other invisible formatting removed so that it displays as what it is.
pub fn clean_text(raw: &str, max_chars: usize, multiline: bool) -> Result<String, String> {
    if raw.chars().count() > max_chars {
        return Err(format!("at most {max_chars} characters"));
    }
    let cleaned: String = raw
        .chars()
        .filter(|&c| (multiline && c == '\n') || !(c.is_control() || is_invisible_format(c)))
        .collect();
    Ok(cleaned.trim().to_owned())
}

/// Bidirectional overrides and isolates, marks (the Arabic letter mark too), zero-width
/// characters and line separators: they change how text around them displays, or hide.
pub(crate) fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_plain() {
        assert_eq!(
            EmailAddress::parse(" Ann@Example.ORG ").unwrap().as_str(),
            "ann@example.org"
        );
        for bad in [
            "ann",
            "ann@localhost",
            "Ann <ann@example.org>",
            "ann@example.org\r\nBcc: x@y.z",
            "a b@example.org",
            "@example.org",
            "ann@",
            "ann@[127.0.0.1]",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn md5_must_be_sixteen_bytes_of_base64() {
        let md5 = ContentMd5::parse("1B2M2Y8AsgTpgAmY7PhCfg==").unwrap();
        assert_eq!(md5.to_hex(), "d41d8cd98f00b204e9800998ecf8427e");
        assert!(ContentMd5::parse("d41d8cd98f00b204e9800998ecf8427e").is_err());
        assert!(ContentMd5::parse("AAAA").is_err());
        assert!(ContentMd5::parse("not base64!").is_err());
    }

    #[test]
    fn text_loses_controls_and_bidi_overrides() {
        assert_eq!(
            clean_text("in\u{202E}voice\u{0}", 100, false).unwrap(),
            "invoice"
        );
        assert_eq!(clean_text("a\nb", 100, true).unwrap(), "a\nb");
        assert_eq!(clean_text("a\nb", 100, false).unwrap(), "ab");
        assert!(clean_text(&"x".repeat(11), 10, false).is_err());
        // Zero-width characters, line separators and the byte order mark hide or break lines.
        assert_eq!(
            clean_text("pay\u{200B}ment\u{2028}Bcc: x\u{FEFF}", 100, true).unwrap(),
            "paymentBcc: x"
        );
    }
}
