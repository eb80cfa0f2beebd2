//! Who is calling. Two kinds of bearer token reach the API: an OIDC access token from the
//! configured issuer (a registered user), or a recipient token that Ferry itself issued after an
//! emailed code (one recipient of one transfer).

pub mod jwks;
pub mod oidc;
pub mod recipient;

use crate::ids::{TransferId, UserId};
use crate::values::{EmailAddress, Role};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthUser {
    pub id: UserId,
    pub email: EmailAddress,
    pub name: String,
    pub roles: Vec<Role>,
}

impl AuthUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A link holder who proved, with the emailed code, that they own a recipient's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientGrant {
    pub transfer_id: TransferId,
    pub email: EmailAddress,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    User(AuthUser),
    Recipient(RecipientGrant),
}

impl Caller {
    /// How the audit trail names this caller.
    pub fn actor(&self) -> String {
        match self {
            Self::User(u) => format!("user:{}", u.id),
            Self::Recipient(r) => format!("recipient:{}", r.email),
        }
    }
}
