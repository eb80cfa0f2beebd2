//! Settings of the application services, the same in ferry-local and in Lambda.

use crate::validation::TypePolicy;
use chrono::Duration;

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_transfer_bytes: u64,
    pub max_files: usize,
    pub max_recipients: usize,
    /// Files up to this size get one presigned PUT; larger ones a multipart upload.
    pub single_put_max_bytes: u64,
    pub part_size: u64,
    pub default_expiry_hours: i64,
    pub max_expiry_hours: i64,
}

impl Default for Limits {
    fn default() -> Self {
        const MIB: u64 = 1024 * 1024;
        Self {
            max_file_bytes: 5 * 1024 * MIB,
            max_transfer_bytes: 20 * 1024 * MIB,
            max_files: 100,
            max_recipients: 50,
            single_put_max_bytes: 16 * MIB,
            // S3 allows at most 10,000 parts, each at least 5 MiB but the last; 16 MiB parts
            // carry 5 GiB in 320 of them.
            part_size: 16 * MIB,
            default_expiry_hours: 7 * 24,
            max_expiry_hours: 30 * 24,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// Where the portal is reached; access links are `{public_url}/r/{token}`.
    pub public_url: String,
    pub limits: Limits,
    pub types: TypePolicy,
    pub upload_url_ttl: Duration,
    pub download_url_ttl: Duration,
    pub recipient_token_ttl: Duration,
    pub code_ttl: Duration,
    pub max_code_attempts: u32,
    pub lockout: Duration,
    /// Codes a link may have emailed per hour.
    pub max_codes_per_hour: usize,
    pub max_delivery_attempts: u32,
    pub users: UserSource,
    /// Where drop folders are, as their owners reach them: `s3://{bucket}/inbox` in AWS, a
    /// directory in ferry-local. A user's is `{drop_folder_location}/{user id}/`.
    pub drop_folder_location: String,
}

/// Who knows the users: Ferry's own directory (ferry-local's, or the stack's Cognito pool), or
/// an outside identity provider whose tokens say who the caller is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserSource {
    /// Every request looks the caller up: disabling or deleting a user takes effect at once,
    /// and administrators manage users through Ferry.
    #[default]
    Directory,
    /// The token's `email`, `name` and groups are the caller; users are managed where they
    /// sign in, and a disabled user keeps access until their token expires.
    Token,
}

impl Settings {
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            limits: Limits::default(),
            types: TypePolicy::documents_and_images(),
            upload_url_ttl: Duration::hours(1),
            download_url_ttl: Duration::minutes(5),
            recipient_token_ttl: Duration::minutes(30),
            code_ttl: Duration::minutes(10),
            max_code_attempts: 5,
            lockout: Duration::minutes(15),
            max_codes_per_hour: 5,
            max_delivery_attempts: 5,
            users: UserSource::Directory,
            drop_folder_location: "inbox".into(),
        }
    }
}
