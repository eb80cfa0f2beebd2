//! The provider's RSA signing key: created once in the data dir (PKCS#8 PEM, mode 0600) and
//! reused on restart, so tokens issued before a restart still verify. The `kid` is derived from
//! the public key, so it is stable too.

use anyhow::{Context, anyhow};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

pub(super) const KEY_FILE: &str = "oidc-signing-key.pem";
const KEY_BITS: usize = 2048;

pub(super) struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The public half as served: kty, use, alg, kid, n, e — nothing private.
    public_jwk: Value,
}

impl SigningKey {
    pub(super) fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(KEY_FILE);
        let key = if path.exists() {
            restrict(&path)?;
            let pem = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the signing key {}", path.display()))?;
            RsaPrivateKey::from_pkcs8_pem(&pem)
                .with_context(|| format!("{} is not a PKCS#8 RSA key", path.display()))?
        } else {
            let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
                .context("generating the signing key")?;
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .context("encoding the signing key")?;
            write_private(&path, pem.as_bytes())?;
            key
        };
        if key.size() * 8 < KEY_BITS {
            return Err(anyhow!(
                "the signing key {} is shorter than {KEY_BITS} bits",
                path.display()
            ));
        }
        Self::from_private(&key)
    }

    fn from_private(key: &RsaPrivateKey) -> anyhow::Result<Self> {
        let der = key.to_pkcs1_der().context("encoding the signing key")?;
        let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(key.n().to_bytes_be()));
        let decoding =
            DecodingKey::from_rsa_components(&n, &e).context("preparing the verification key")?;
        Ok(Self {
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            decoding,
            public_jwk: json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e,
            }),
            kid,
        })
    }

    pub(super) fn kid(&self) -> &str {
        &self.kid
    }

    /// `{"keys": [...]}`, as served at the JWKS URI.
    pub(super) fn jwks_json(&self) -> Value {
        json!({ "keys": [self.public_jwk] })
    }

    pub(super) fn jwk_set(&self) -> anyhow::Result<JwkSet> {
        serde_json::from_value(self.jwks_json()).context("building the JWK set")
    }

    /// A compact RS256 JWS over `claims`, with our `kid` and the given `typ`.
    pub(super) fn sign(&self, typ: &str, claims: &impl Serialize) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).context("signing a token")
    }

    /// The claims of a token that we signed for `audience`, unexpired; `None` otherwise.
    pub(super) fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
    ) -> Option<T> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(self.kid.as_str()) {
            return None;
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// Writes through a temporary file created with mode 0600 and renames it into place, so the key
/// is never readable by others, not even for a moment, and never half-written.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("pem.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    restrict(&tmp)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("moving the key to {}", path.display()))?;
    Ok(())
}

/// Private keys are for the owner only, whatever the umask or an earlier copy left behind.
fn restrict(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
