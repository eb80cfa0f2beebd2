//! Administration from the machine's own shell, for an operator who has the data dir but no
//! browser at hand: `ferry-local create-client` makes machine credentials for a script, as
//! `POST /api/v1/admin/clients` does, and the audit trail records it. It works while the portal
//! runs: SQLite serialises the two writers.

use crate::catalog::SqliteCatalog;
use crate::clients::LocalClients;
use crate::db::Db;
use crate::users::LocalUsers;
use anyhow::Context;
use ferry_core::audit::{AuditEvent, Outcome};
use ferry_core::ports::{Catalog, MachineClients, UserDirectory};
use ferry_core::values::EmailAddress;
use std::path::Path;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Create machine credentials (OAuth client credentials) that act for a user, and print
    /// them as JSON: `client_id`, `client_secret` (shown this once), `name`, `owner_id`.
    CreateClient {
        /// The user the client acts for (with the member role at most).
        #[arg(long)]
        owner_email: String,
        /// What the client is for (letters, digits, spaces and ._@+=,-; at most 64).
        #[arg(long)]
        name: String,
    },
}

pub async fn run(command: &Command, data_dir: &Path) -> anyhow::Result<()> {
    let database = data_dir.join("ferry.db");
    if !database.is_file() {
        anyhow::bail!(
            "{} holds no ferry-local database: start ferry-local with this --data-dir first",
            data_dir.display()
        );
    }
    let db = Db::open(&database)?;
    let users = LocalUsers::new(db.clone())?;
    let clients = LocalClients::new(db.clone())?;
    let catalog = SqliteCatalog::new(db)?;
    match command {
        Command::CreateClient { owner_email, name } => {
            let name = ferry_core::services::clients::parse_client_name(name)
                .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let email = EmailAddress::parse(owner_email)
                .map_err(|e| anyhow::anyhow!("--owner-email: {e}"))?;
            let owner = users
                .find_by_email(&email)
                .await?
                .filter(|u| u.enabled)
                .with_context(|| {
                    format!(
                        "--owner-email: no enabled user has the address {email}; an admin adds \
                         them first (the portal's Users page, or POST /api/v1/admin/users)"
                    )
                })?;
            let issued = clients.create(&owner.id, &name).await?;
            // Like the API's, this admin action stays in the audit trail; its actor is the
            // machine's operator, who needs no account.
            catalog
                .append_audit(
                    &AuditEvent::new(
                        "operator:shell".to_owned(),
                        "client.created",
                        Outcome::Success,
                        chrono::Utc::now(),
                    )
                    .detail(ferry_core::services::clients::audit_subject(&issued.client)),
                )
                .await?;
            tracing::info!(client = %issued.client.id, owner = %owner.id, "created a machine client");
            println!(
                "{}",
                serde_json::json!({
                    "client_id": issued.client.id,
                    "client_secret": issued.secret,
                    "name": issued.client.name,
                    "owner_id": issued.client.owner.as_str(),
                })
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::audit::AuditQuery;
    use ferry_core::ports::NewUser;
    use ferry_core::values::Role;

    #[tokio::test]
    async fn create_client_from_the_shell_is_stored_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let missing = run(
            &Command::CreateClient {
                owner_email: "ops@example.org".into(),
                name: "nightly".into(),
            },
            dir.path(),
        )
        .await;
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("no ferry-local database")
        );

        let db = Db::open(&dir.path().join("ferry.db")).unwrap();
        let owner = LocalUsers::new(db.clone())
            .unwrap()
            .create(NewUser {
                email: EmailAddress::parse("ops@example.org").unwrap(),
                name: "Ops".into(),
                roles: vec![Role::Member],
                password: Some("a long enough password".into()),
            })
            .await
            .unwrap();
        let create = |email: &str, name: &str| Command::CreateClient {
            owner_email: email.into(),
            name: name.into(),
        };
        let unknown = run(&create("nobody@example.org", "nightly"), dir.path()).await;
        assert!(unknown.unwrap_err().to_string().contains("--owner-email"));
        let bad_name = run(&create("ops@example.org", "a/b"), dir.path()).await;
        assert!(bad_name.unwrap_err().to_string().contains("--name"));

        run(&create("ops@example.org", "nightly"), dir.path())
            .await
            .unwrap();
        let clients = LocalClients::new(db.clone()).unwrap().list().await.unwrap();
        assert_eq!(clients.len(), 1);
        assert_eq!(clients[0].owner, owner.id);
        let events = SqliteCatalog::new(db)
            .unwrap()
            .query_audit(&AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .events;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].actor, "operator:shell");
        assert_eq!(events[0].action, "client.created");
    }
}
