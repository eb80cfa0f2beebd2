//! The upload speed test: a few presigned PUTs of zero bytes straight to storage, so the
//! browser measures the very link its parts will take and sizes its parallelism to it.

use super::Ferry;
use crate::auth::AuthUser;
use crate::error::{Error, Result};
use crate::ports::{PresignedRequest, speed_test_key};
use crate::values::ContentMd5;
use crate::values::Role;
use chrono::{DateTime, Duration, Utc};
use md5::{Digest, Md5};
use std::sync::LazyLock;

/// Growing probes: the client stops once the next would take too long on its link.
pub const PROBE_SIZES: [u64; 4] = [256 * 1024, 1024 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024];

/// A probe's URL is used at once; it need not outlive the page that asked for it.
const PROBE_URL_TTL: Duration = Duration::minutes(10);

/// The body of a probe is `size` zero bytes, so its MD5 is known in advance.
static PROBE_MD5S: LazyLock<Vec<ContentMd5>> = LazyLock::new(|| {
    let chunk = [0u8; 64 * 1024];
    PROBE_SIZES
        .iter()
        .map(|&size| {
            let mut md5 = Md5::new();
            for _ in 0..size / chunk.len() as u64 {
                md5.update(chunk);
            }
            ContentMd5::from_digest(md5.finalize().into())
        })
        .collect()
});

pub struct SpeedProbe {
    pub size: u64,
    pub request: PresignedRequest,
}

pub struct SpeedTest {
    pub probes: Vec<SpeedProbe>,
    pub expires_at: DateTime<Utc>,
}

impl Ferry {
    /// Presigned PUTs of zero bytes under `speedtest/`: storage drops or expires them, and no
    /// pipeline ever looks at them.
    pub async fn speed_test(&self, user: &AuthUser) -> Result<SpeedTest> {
        if !user.has_role(Role::Member) {
            return Err(Error::Forbidden(
                "only members send transfers, so only they test their upload speed".into(),
            ));
        }
        let expires_at = self.now() + PROBE_URL_TTL;
        let mut probes = Vec::with_capacity(PROBE_SIZES.len());
        for (size, md5) in PROBE_SIZES.iter().zip(PROBE_MD5S.iter()) {
            let request = self
                .ports
                .store
                .presign_put(&speed_test_key(), md5, *size, expires_at)
                .await?;
            probes.push(SpeedProbe {
                size: *size,
                request,
            });
        }
        Ok(SpeedTest { probes, expires_at })
    }
}
