//! The one place that decides what a caller may do with a transfer.

use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::model::{RecipientStatus, Transfer};
use crate::values::{EmailAddress, Role};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Sender,
    Recipient(EmailAddress),
    Admin,
}

/// How the caller relates to the transfer, or `None` when it is not theirs to see. A recipient
/// sees the transfer once they have been notified, not while it is being uploaded.
pub fn access(caller: &Caller, transfer: &Transfer) -> Option<Access> {
    match caller {
        Caller::User(user) => {
            if transfer.sender.id == user.id {
                return Some(Access::Sender);
            }
            if transfer
                .recipient(&user.email)
                .is_some_and(|r| r.status != RecipientStatus::Pending)
            {
                return Some(Access::Recipient(user.email.clone()));
            }
            user.has_role(Role::Admin).then_some(Access::Admin)
        }
        Caller::Recipient(grant) => (grant.transfer_id == transfer.id
            && transfer.recipient(&grant.email).is_some())
        .then(|| Access::Recipient(grant.email.clone())),
    }
}

/// A transfer that is not yours answers exactly like one that does not exist.
pub fn require(caller: &Caller, transfer: &Transfer) -> Result<Access> {
    access(caller, transfer).ok_or_else(|| Error::not_found("transfer"))
}

pub fn require_sender(caller: &Caller, transfer: &Transfer) -> Result<()> {
    match require(caller, transfer)? {
        Access::Sender => Ok(()),
        _ => Err(Error::Forbidden("only the sender may do this".into())),
    }
}

pub fn require_sender_or_admin(caller: &Caller, transfer: &Transfer) -> Result<Access> {
    match (require(caller, transfer)?, caller) {
        // An admin who is also a recipient acts here as the admin.
        (Access::Recipient(_), Caller::User(user)) if user.has_role(Role::Admin) => {
            Ok(Access::Admin)
        }
        (Access::Recipient(_), _) => Err(Error::Forbidden(
            "only the sender or an admin may do this".into(),
        )),
        (access, _) => Ok(access),
    }
}

pub fn require_recipient(caller: &Caller, transfer: &Transfer) -> Result<EmailAddress> {
    match require(caller, transfer)? {
        Access::Recipient(email) => Ok(email),
        _ => Err(Error::Forbidden("only a recipient may do this".into())),
    }
}

pub fn require_sender_or_recipient(caller: &Caller, transfer: &Transfer) -> Result<Access> {
    match require(caller, transfer)? {
        Access::Admin => Err(Error::Forbidden(
            "only the sender or a recipient may see content".into(),
        )),
        access => Ok(access),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthUser, RecipientGrant};
    use crate::ids::{TransferId, UserId};
    use crate::model::tests::sample_transfer;

    fn user(id: &str, email: &str, roles: &[Role]) -> Caller {
        Caller::User(AuthUser {
            id: UserId::parse(id).unwrap(),
            email: EmailAddress::parse(email).unwrap(),
            name: id.into(),
            roles: roles.to_vec(),
        })
    }

    #[test]
    fn who_sees_what() {
        let mut t = sample_transfer(1);
        let sender = user("sender-1", "sender@example.org", &[Role::Member]);
        let bob = user("bob", "bob@example.com", &[Role::Member]);
        let stranger = user("eve", "eve@example.com", &[Role::Member]);
        let admin = user("root", "root@example.com", &[Role::Admin]);
        assert_eq!(access(&sender, &t), Some(Access::Sender));
        assert_eq!(access(&bob, &t), None, "not before being notified");
        t.recipients[0].status = RecipientStatus::Notified;
        assert!(matches!(access(&bob, &t), Some(Access::Recipient(_))));
        assert_eq!(access(&stranger, &t), None);
        assert_eq!(access(&admin, &t), Some(Access::Admin));
        assert!(matches!(require(&stranger, &t), Err(Error::NotFound(_))));
        assert!(matches!(
            require_sender_or_recipient(&admin, &t),
            Err(Error::Forbidden(_))
        ));

        // An admin who also received the transfer may still cancel it as an admin.
        let admin_bob = user("bob", "bob@example.com", &[Role::Member, Role::Admin]);
        assert!(matches!(access(&admin_bob, &t), Some(Access::Recipient(_))));
        assert_eq!(
            require_sender_or_admin(&admin_bob, &t).unwrap(),
            Access::Admin
        );
        assert!(matches!(
            require_sender_or_admin(&bob, &t),
            Err(Error::Forbidden(_))
        ));

        let grant = |tid, email: &str| {
            Caller::Recipient(RecipientGrant {
                transfer_id: tid,
                email: EmailAddress::parse(email).unwrap(),
            })
        };
        assert!(access(&grant(t.id, "bob@example.com"), &t).is_some());
        assert_eq!(
            access(&grant(TransferId::new(), "bob@example.com"), &t),
            None
        );
        assert_eq!(access(&grant(t.id, "eve@example.com"), &t), None);
    }
}
