//! Presigned URLs: what a URL allows (a grant), its HMAC-SHA256 signature and the URL format
//! `{public_url}/_storage/{key}?{grant parameters}&expires={unix seconds}&sig={hex}`.
//!
//! The signature covers the method, the kind of grant, the key, the expiry and every grant
//! parameter, so changing any part of the URL (or using a part's URL as a whole object's)
//! invalidates it.

use super::keys::{MAX_PART_NUMBER, ObjectKey, UploadId};
use ferry_core::values::ContentMd5;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Binds signatures to this use, should the key ever sign anything else.
const CONTEXT: &[u8] = b"ferry-local storage v1";

/// The path prefix of the storage endpoint.
pub(super) const PATH_PREFIX: &str = "/_storage/";

/// Query values keep only RFC 3986 unreserved characters literal (base64's `+` would otherwise
/// decode as a space).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const EXPIRES: &str = "expires";
const SIG: &str = "sig";
const CONTENT_MD5: &str = "content-md5";
const SIZE: &str = "size";
const UPLOAD_ID: &str = "uploadId";
const PART_NUMBER: &str = "partNumber";
const RESPONSE_CONTENT_TYPE: &str = "response-content-type";
const RESPONSE_CONTENT_DISPOSITION: &str = "response-content-disposition";

/// What a presigned URL allows on its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Grant {
    /// PUT the whole object: exactly `size` bytes whose MD5 is `md5`.
    Put { md5: ContentMd5, size: u64 },
    /// PUT one part of a multipart upload: exactly `size` bytes whose MD5 is `md5`.
    Part {
        upload_id: UploadId,
        number: u32,
        md5: ContentMd5,
        size: u64,
    },
    /// GET the object, answered with these two headers.
    Get {
        content_type: String,
        disposition: String,
    },
}

impl Grant {
    fn method(&self) -> &'static str {
        match self {
            Self::Put { .. } | Self::Part { .. } => "PUT",
            Self::Get { .. } => "GET",
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Put { .. } => "object",
            Self::Part { .. } => "part",
            Self::Get { .. } => "download",
        }
    }

    /// The parameters as they appear in the URL, in the order they are signed.
    fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Put { md5, size } => {
                vec![(SIZE, size.to_string()), (CONTENT_MD5, md5.to_base64())]
            }
            Self::Part {
                upload_id,
                number,
                md5,
                size,
            } => vec![
                (UPLOAD_ID, upload_id.to_string()),
                (PART_NUMBER, number.to_string()),
                (SIZE, size.to_string()),
                (CONTENT_MD5, md5.to_base64()),
            ],
            Self::Get {
                content_type,
                disposition,
            } => vec![
                (RESPONSE_CONTENT_TYPE, content_type.clone()),
                (RESPONSE_CONTENT_DISPOSITION, disposition.clone()),
            ],
        }
    }

    /// Reads the grant a request claims: a PUT with an upload id is a part, any other PUT a
    /// whole object, and a GET (or HEAD) a download.
    fn from_query(method: &http::Method, query: &Query) -> Result<Self, Refusal> {
        let size = || -> Result<u64, Refusal> {
            query
                .required(SIZE)?
                .parse()
                .map_err(|_| Refusal::Malformed(SIZE))
        };
        let md5 = || {
            ContentMd5::parse(query.required(CONTENT_MD5)?)
                .map_err(|_| Refusal::Malformed("content-md5"))
        };
        if method == http::Method::GET || method == http::Method::HEAD {
            Ok(Self::Get {
                content_type: query.required(RESPONSE_CONTENT_TYPE)?.to_owned(),
                disposition: query.required(RESPONSE_CONTENT_DISPOSITION)?.to_owned(),
            })
        } else if method != http::Method::PUT {
            Err(Refusal::Malformed("method"))
        } else if let Some(id) = query.get(UPLOAD_ID) {
            let upload_id = UploadId::parse(id).ok_or(Refusal::Malformed(UPLOAD_ID))?;
            let number = query
                .required(PART_NUMBER)?
                .parse()
                .ok()
                .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
                .ok_or(Refusal::Malformed(PART_NUMBER))?;
            Ok(Self::Part {
                upload_id,
                number,
                md5: md5()?,
                size: size()?,
            })
        } else {
            Ok(Self::Put {
                md5: md5()?,
                size: size()?,
            })
        }
    }
}

/// Why a request's signature does not let it through. Every variant is a 403 to the client.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// A signed parameter is missing, repeated or unreadable (named here).
    Malformed(&'static str),
    Mismatch,
    Expired,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => {
                write!(
                    f,
                    "AccessDenied: this is not a complete presigned URL ({what})"
                )
            }
            Self::Mismatch => f.write_str(
                "SignatureDoesNotMatch: the URL was changed after it was signed, or it is used \
                 with another method",
            ),
            Self::Expired => f.write_str("AccessDenied: the presigned URL has expired"),
        }
    }
}

/// The decoded query string; a repeated parameter makes the whole query unreadable, so no two
/// readers can disagree on which value counts.
struct Query(BTreeMap<String, String>);

impl Query {
    fn parse(raw: &str) -> Result<Self, Refusal> {
        let mut params = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            if params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                return Err(Refusal::Malformed("a repeated parameter"));
            }
        }
        Ok(Self(params))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn required(&self, name: &'static str) -> Result<&str, Refusal> {
        self.get(name).ok_or(Refusal::Malformed(name))
    }
}

/// Signs and checks presigned URLs with the store's secret key.
pub(super) struct Signer {
    key: [u8; 32],
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    pub(super) fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, key: &ObjectKey, expires: i64, grant: &Grant) -> [u8; 32] {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        let expires = expires.to_string();
        let mut field = |value: &[u8]| {
            // Length-prefixed, so no two different field lists hash the same bytes.
            mac.update(&(value.len() as u64).to_be_bytes());
            mac.update(value);
        };
        field(CONTEXT);
        field(grant.method().as_bytes());
        field(grant.kind().as_bytes());
        field(key.as_str().as_bytes());
        field(expires.as_bytes());
        for (name, value) in grant.params() {
            field(name.as_bytes());
            field(value.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// The presigned URL for `grant` on `key`, valid until `expires` (Unix seconds).
    pub(super) fn url(
        &self,
        public_url: &str,
        key: &ObjectKey,
        expires: i64,
        grant: &Grant,
    ) -> String {
        let sig = hex::encode(self.mac(key, expires, grant));
        let mut query: Vec<String> = grant
            .params()
            .into_iter()
            .map(|(name, value)| format!("{name}={}", utf8_percent_encode(&value, QUERY_VALUE)))
            .collect();
        query.push(format!("{EXPIRES}={expires}"));
        query.push(format!("{SIG}={sig}"));
        // Keys need no escaping: they only hold characters that are literal in a URL path.
        format!("{public_url}{PATH_PREFIX}{key}?{}", query.join("&"))
    }

    /// Checks a request's signature and expiry (`now` in Unix seconds) and returns its grant.
    pub(super) fn verify(
        &self,
        method: &http::Method,
        key: &ObjectKey,
        raw_query: &str,
        now: i64,
    ) -> Result<Grant, Refusal> {
        let query = Query::parse(raw_query)?;
        let grant = Grant::from_query(method, &query)?;
        let expires: i64 = query
            .required(EXPIRES)?
            .parse()
            .map_err(|_| Refusal::Malformed(EXPIRES))?;
        let sig = hex::decode(query.required(SIG)?).map_err(|_| Refusal::Mismatch)?;
        let expected = self.mac(key, expires, &grant);
        if !bool::from(expected.as_slice().ct_eq(sig.as_slice())) {
            return Err(Refusal::Mismatch);
        }
        if now > expires {
            return Err(Refusal::Expired);
        }
        Ok(grant)
    }
}
