//! Administration from the machine's own shell, for an operator who has the data dir but no
//! browser at hand: `ferry-local create-client` makes machine credentials for a script, as
//! `POST /api/v1/admin/clients` does. It works while the portal runs: SQLite serialises the
//! two writers.

use crate::clients::LocalClients;
use crate::db::Db;
use crate::users::LocalUsers;
use anyhow::Context;
use ferry_core::ports::{MachineClients, UserDirectory};
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
    let clients = LocalClients::new(db)?;
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
                    format!("--owner-email: no enabled user has the address {email}")
                })?;
            let issued = clients.create(&owner.id, &name).await?;
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
