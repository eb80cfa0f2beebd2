//! Turning a bearer token into a caller, the same way for every route and every deployment.

use super::Ferry;
use crate::auth::oidc::{AuthError, OidcClaims};
use crate::auth::recipient::RecipientTokens;
use crate::auth::{AuthUser, Caller};
use crate::config::UserSource;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::values::{EmailAddress, Role, clean_text};

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
        self.user_from_claims(claims).await.map(Caller::User)
    }

    /// The signed-in user an issuer's verified claims stand for.
    pub(crate) async fn user_from_claims(&self, claims: OidcClaims) -> Result<AuthUser> {
        if let Some(client) = &claims.machine_client {
            return self.machine_user(client).await;
        }
        let id = UserId::parse(&claims.sub)
            .ok_or_else(|| Error::Unauthenticated("the token's subject is not a user id".into()))?;
        let groups = claims.groups.iter().filter_map(|g| Role::parse(g));
        if self.settings.users == UserSource::Token {
            let email = claims
                .email
                .as_deref()
                .and_then(|e| EmailAddress::parse(e).ok())
                .ok_or_else(|| {
                    Error::Unauthenticated("the token carries no valid email claim".into())
                })?;
            // The address decides which transfers the caller receives: it must be proven.
            if !claims.email_verified {
                return Err(Error::Unauthenticated(
                    "the token's email is not verified (email_verified)".into(),
                ));
            }
            let name = claims
                .name
                .and_then(|n| clean_text(&n, 120, false).ok())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| email.to_string());
            return Ok(AuthUser {
                id,
                email,
                name,
                roles: groups.collect(),
            });
        }
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
        let roles = groups.filter(|r| user.roles.contains(r)).collect();
        Ok(AuthUser {
            id,
            email: user.email,
            name: user.name,
            roles,
        })
    }

    /// The owner a machine client acts for, as a member at most: a script never administers.
    async fn machine_user(&self, client_id: &str) -> Result<AuthUser> {
        if self.settings.users == UserSource::Token {
            return Err(Error::Unauthenticated(
                "machine clients are not accepted with an outside identity provider".into(),
            ));
        }
        let client = self.ports.clients.get(client_id).await?.ok_or_else(|| {
            Error::Unauthenticated("this machine client was deleted or never existed".into())
        })?;
        let owner = self
            .ports
            .users
            .get(&client.owner)
            .await?
            .filter(|u| u.enabled)
            .ok_or_else(|| {
                Error::Unauthenticated(
                    "the account this client acts for is disabled or no longer exists".into(),
                )
            })?;
        let roles = owner
            .roles
            .iter()
            .copied()
            .filter(|r| *r == Role::Member)
            .collect();
        Ok(AuthUser {
            id: owner.id,
            email: owner.email,
            name: owner.name,
            roles,
        })
    }
}
