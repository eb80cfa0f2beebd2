//! Turning a bearer token into a caller, the same way for every route and every deployment.

use super::Ferry;
use crate::auth::recipient::RecipientTokens;
use crate::auth::{AuthUser, Caller, oidc::AuthError};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::values::Role;

impl Ferry {
    pub async fn authenticate(&self, bearer: &str) -> Result<Caller> {
        if RecipientTokens::is_recipient_token(bearer) {
            return self
                .recipient_tokens
                .verify(bearer)
                .map(Caller::Recipient)
                .ok_or_else(|| {
                    Error::Unauthenticated("the access token is invalid or has expired".into())
                });
        }
        let claims = self.oidc.verify(bearer).await.map_err(|e| match e {
            AuthError::Invalid(why) => {
                Error::Unauthenticated(format!("the access token was refused: {why}"))
            }
            AuthError::Unavailable(e) => Error::Unexpected(e.context("fetching the issuer's keys")),
        })?;
        let id = UserId::parse(&claims.sub)
            .ok_or_else(|| Error::Unauthenticated("the token's subject is not a user id".into()))?;
        // Tokens outlive an admin's decision; the directory has the last word on every request.
        let user = self
            .ports
            .users
            .get(&id)
            .await?
            .filter(|u| u.enabled)
            .ok_or_else(|| {
                Error::Unauthenticated("this account is disabled or no longer exists".into())
            })?;
        let roles = claims
            .groups
            .iter()
            .filter_map(|g| Role::parse(g))
            .filter(|r| user.roles.contains(r))
            .collect();
        Ok(Caller::User(AuthUser {
            id,
            email: user.email,
            name: user.name,
            roles,
        }))
    }
}
