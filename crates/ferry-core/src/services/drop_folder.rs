//! A member's drop-folder settings: where their scripts put files, and the recipients, subject
//! and message of files that arrive without a manifest (or with one that leaves them out).

use super::Ferry;
use super::transfers::parse_recipient;
use crate::audit::{AuditEvent, Outcome};
use crate::auth::AuthUser;
use crate::error::{Error, Result};
use crate::model::DropFolder;
use crate::values::{Role, clean_text};

pub struct DropFolderView {
    /// Where to put files: `{location}/{user id}/`.
    pub location: String,
    pub settings: DropFolder,
}

pub struct DropFolderChange {
    pub default_recipients: Vec<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
}

impl Ferry {
    pub async fn drop_folder(&self, user: &AuthUser) -> Result<DropFolderView> {
        Self::require_member(user)?;
        let settings = self
            .ports
            .catalog
            .drop_folder(&user.id)
            .await?
            .unwrap_or_default();
        Ok(self.drop_folder_view(user, settings))
    }

    pub async fn set_drop_folder(
        &self,
        user: &AuthUser,
        change: DropFolderChange,
    ) -> Result<DropFolderView> {
        Self::require_member(user)?;
        let max = self.settings.limits.max_recipients;
        if change.default_recipients.len() > max {
            return Err(Error::invalid(format!(
                "default_recipients: at most {max} addresses"
            )));
        }
        let mut recipients = Vec::with_capacity(change.default_recipients.len());
        for raw in &change.default_recipients {
            let email = parse_recipient(raw, "default_recipients")?;
            if !recipients.contains(&email) {
                recipients.push(email);
            }
        }
        let optional = |raw: Option<String>, field: &str, max: usize, multiline: bool| {
            let text = clean_text(raw.as_deref().unwrap_or(""), max, multiline)
                .map_err(|e| Error::invalid(format!("{field}: {e}")))?;
            Ok::<_, Error>((!text.is_empty()).then_some(text))
        };
        let settings = DropFolder {
            default_recipients: recipients,
            subject: optional(change.subject, "subject", 200, false)?,
            message: optional(change.message, "message", 5000, true)?,
        };
        self.ports
            .catalog
            .save_drop_folder(&user.id, &settings)
            .await?;
        self.audit(
            AuditEvent::new(
                format!("user:{}", user.id),
                "drop_folder.updated",
                Outcome::Success,
                self.now(),
            )
            .detail(format!(
                "{} default recipient(s)",
                settings.default_recipients.len()
            )),
        )
        .await;
        Ok(self.drop_folder_view(user, settings))
    }

    fn require_member(user: &AuthUser) -> Result<()> {
        if user.has_role(Role::Member) {
            Ok(())
        } else {
            Err(Error::Forbidden("only members have a drop folder".into()))
        }
    }

    fn drop_folder_view(&self, user: &AuthUser, settings: DropFolder) -> DropFolderView {
        DropFolderView {
            location: format!(
                "{}/{}/",
                self.settings.drop_folder_location.trim_end_matches('/'),
                user.id
            ),
            settings,
        }
    }
}
