//! Recipient tokens: what a link holder gets for the emailed code. Ferry issues and checks them
//! itself (HS256 under a server secret), so they never pass for an identity provider's token:
//! the OIDC verifier refuses HS256, and this one accepts nothing else.

use super::RecipientGrant;
use crate::ids::TransferId;
use crate::values::EmailAddress;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

const ISSUER: &str = "ferry:recipient";

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    tid: String,
    iat: i64,
    exp: i64,
}

pub struct RecipientTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl RecipientTokens {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, grant: &RecipientGrant, now: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: grant.transfer_id.to_string(),
            sub: grant.email.to_string(),
            tid: grant.transfer_id.to_string(),
            iat: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Whether a token claims to be ours (by its header alone); only then is `verify` asked.
    pub fn is_recipient_token(token: &str) -> bool {
        jsonwebtoken::decode_header(token).is_ok_and(|h| h.alg == Algorithm::HS256)
    }

    pub fn verify(&self, token: &str) -> Option<RecipientGrant> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.validate_aud = false;
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok()?;
        let transfer_id = TransferId::parse(&data.claims.tid)?;
        // The audience binds the token to its transfer a second time, in the signed claims.
        if data.claims.aud != data.claims.tid {
            return None;
        }
        let email = EmailAddress::parse(&data.claims.sub).ok()?;
        Some(RecipientGrant { transfer_id, email })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> RecipientGrant {
        RecipientGrant {
            transfer_id: TransferId::new(),
            email: EmailAddress::parse("bob@example.com").unwrap(),
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let tokens =
            RecipientTokens::new(b"0123456789abcdef0123456789abcdef", Duration::minutes(30));
        let g = grant();
        let token = tokens.issue(&g, Utc::now()).unwrap();
        assert!(RecipientTokens::is_recipient_token(&token));
        assert_eq!(tokens.verify(&token), Some(g.clone()));
        let old = tokens.issue(&g, Utc::now() - Duration::hours(1)).unwrap();
        assert_eq!(tokens.verify(&old), None);
    }

    #[test]
    fn another_secret_or_a_tampered_token_fails() {
        let tokens =
            RecipientTokens::new(b"0123456789abcdef0123456789abcdef", Duration::minutes(30));
        let other =
            RecipientTokens::new(b"fedcba9876543210fedcba9876543210", Duration::minutes(30));
        let token = tokens.issue(&grant(), Utc::now()).unwrap();
        assert_eq!(other.verify(&token), None);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = parts[1].chars().rev().collect();
        assert_eq!(tokens.verify(&parts.join(".")), None);
    }
}
