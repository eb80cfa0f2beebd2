//! Sign-ins and account changes in the audit trail, beside what the signed-in users then do.
//! Never what was typed: a password put in the email field must not end up in the trail.

use super::LocalIdp;
use chrono::Utc;
use ferry_core::audit::{AuditEvent, Outcome};
use ferry_core::ids::UserId;
use ferry_core::model::User;
use ferry_core::ports::UserDirectory;
use ferry_core::values::EmailAddress;

/// How a sign-in was proven or refused, the event's `detail`.
pub(super) enum Way {
    Portal,
    PortalWithCode,
    AccountPage,
}

impl Way {
    fn describe(&self) -> &'static str {
        match self {
            Self::Portal => "portal, password",
            Self::PortalWithCode => "portal, password and one-time code",
            Self::AccountPage => "account page",
        }
    }
}

impl LocalIdp {
    pub(super) async fn record_sign_in(&self, user: &User, way: Way, ip: Option<&str>) {
        self.record(
            format!("user:{}", user.id),
            "user.signed_in",
            Outcome::Success,
            way.describe(),
            ip,
        )
        .await;
    }

    /// A password refused for `email`: attributed to the account when there is one.
    pub(super) async fn record_wrong_password(&self, email: &str, way: Way, ip: Option<&str>) {
        if self.audit.is_none() {
            // Nothing to attribute the attempt to: no lookup.
            return;
        }
        let account = match EmailAddress::parse(email) {
            Ok(email) => self.users.find_by_email(&email).await.ok().flatten(),
            Err(_) => None,
        };
        let (actor, why) = match account {
            Some(user) if !user.enabled => (format!("user:{}", user.id), "account disabled"),
            Some(user) => (format!("user:{}", user.id), "wrong password"),
            None => ("anonymous".to_owned(), "no such account"),
        };
        let detail = format!("{}: {why}", way.describe());
        self.record(actor, "user.sign_in_failed", Outcome::Denied, &detail, ip)
            .await;
    }

    pub(super) async fn record_wrong_code(&self, user: &UserId, way: Way, ip: Option<&str>) {
        let detail = format!("{}: wrong one-time code", way.describe());
        self.record(
            format!("user:{user}"),
            "user.sign_in_failed",
            Outcome::Denied,
            &detail,
            ip,
        )
        .await;
    }

    pub(super) async fn record_account_change(&self, user: &User, action: &str, ip: Option<&str>) {
        self.record(
            format!("user:{}", user.id),
            action,
            Outcome::Success,
            "account page",
            ip,
        )
        .await;
    }

    /// A trail that cannot be written does not stop anyone signing in; it is logged instead.
    async fn record(
        &self,
        actor: String,
        action: &str,
        outcome: Outcome,
        detail: &str,
        ip: Option<&str>,
    ) {
        let Some(catalog) = &self.audit else {
            return;
        };
        let event = AuditEvent::new(actor, action, outcome, Utc::now())
            .detail(detail)
            .source_ip(ip.map(str::to_owned));
        if let Err(e) = catalog.append_audit(&event).await {
            tracing::error!(error = %e, action, "failed to write an audit event");
        }
    }
}
