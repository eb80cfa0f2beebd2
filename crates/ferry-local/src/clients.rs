//! Machine clients of ferry-local, in the embedded database beside the users they act for. A
//! secret is 256 random bits shown once; only its hash (SHA-256, keyed with the client id) is
//! kept, which is enough for a secret nobody chose and nobody can guess.

use crate::db::Db;
use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ferry_core::ids::UserId;
use ferry_core::model::MachineClient;
use ferry_core::ports::{DirectoryError, IssuedClient, MachineClients};
use ferry_core::tokens::{hash_secret, hashes_match, new_link_token};
use rusqlite::{Connection, OptionalExtension, Row, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS machine_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS machine_clients_by_owner ON machine_clients (owner);
";

const COLUMNS: &str = "id, name, owner, created_at";

pub struct LocalClients {
    db: Db,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<(String, String, String, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn into_client(
    (id, name, owner, created_at): (String, String, String, String),
) -> anyhow::Result<MachineClient> {
    Ok(MachineClient {
        id,
        name,
        owner: UserId::parse(&owner).context("a stored client owner is malformed")?,
        created_at: DateTime::parse_from_rfc3339(&created_at)
            .context("a stored client creation time is malformed")?
            .with_timezone(&Utc),
    })
}

fn client_and_hash(c: &Connection, id: &str) -> anyhow::Result<Option<(MachineClient, String)>> {
    let row = c
        .query_row(
            &format!("SELECT {COLUMNS}, secret_hash FROM machine_clients WHERE id = ?1"),
            [id],
            |r| Ok((from_row(r)?, r.get::<_, String>(4)?)),
        )
        .optional()
        .context("reading a machine client")?;
    row.map(|(raw, hash)| Ok((into_client(raw)?, hash)))
        .transpose()
}

impl LocalClients {
    /// Needs the users table: call after `LocalUsers::new` on the same database.
    pub fn new(db: Db) -> anyhow::Result<Self> {
        db.blocking(|c| {
            c.execute_batch(SCHEMA)
                .context("creating the machine client table")
        })?;
        Ok(Self { db })
    }

    /// The client whose secret this is, or `None` (unknown client or wrong secret, alike).
    pub async fn verify(&self, id: &str, secret: &str) -> anyhow::Result<Option<MachineClient>> {
        let id = id.to_owned();
        let presented = hash_secret(secret, &id);
        let found = self.db.call(move |c| client_and_hash(c, &id)).await?;
        Ok(found
            .filter(|(_, stored)| hashes_match(stored, &presented))
            .map(|(client, _)| client))
    }
}

#[async_trait]
impl MachineClients for LocalClients {
    async fn create(&self, owner: &UserId, name: &str) -> Result<IssuedClient, DirectoryError> {
        let client = MachineClient {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.to_owned(),
            owner: owner.clone(),
            created_at: Utc::now(),
        };
        let secret = new_link_token();
        let hash = hash_secret(&secret, &client.id);
        let row = client.clone();
        let inserted = self
            .db
            .call(move |c| {
                let owner_exists = c
                    .query_row(
                        "SELECT 1 FROM users WHERE id = ?1",
                        [row.owner.as_str()],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some();
                if !owner_exists {
                    return Ok(false);
                }
                c.execute(
                    "INSERT INTO machine_clients (id, name, owner, secret_hash, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        row.id,
                        row.name,
                        row.owner.as_str(),
                        hash,
                        row.created_at.to_rfc3339()
                    ],
                )
                .context("storing a machine client")?;
                Ok(true)
            })
            .await?;
        if !inserted {
            return Err(DirectoryError::NotFound);
        }
        Ok(IssuedClient { client, secret })
    }

    async fn get(&self, id: &str) -> anyhow::Result<Option<MachineClient>> {
        let id = id.to_owned();
        let found = self.db.call(move |c| client_and_hash(c, &id)).await?;
        Ok(found.map(|(client, _)| client))
    }

    async fn list(&self) -> anyhow::Result<Vec<MachineClient>> {
        self.db
            .call(|c| {
                let mut stmt = c.prepare(&format!(
                    "SELECT {COLUMNS} FROM machine_clients ORDER BY created_at, id"
                ))?;
                let rows = stmt
                    .query_map([], from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .context("listing machine clients")?;
                rows.into_iter().map(into_client).collect()
            })
            .await
    }

    async fn delete(&self, id: &str) -> Result<(), DirectoryError> {
        let id = id.to_owned();
        let deleted = self
            .db
            .call(move |c| {
                c.execute("DELETE FROM machine_clients WHERE id = ?1", [id])
                    .context("deleting a machine client")
            })
            .await?;
        if deleted == 0 {
            Err(DirectoryError::NotFound)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::LocalUsers;
    use ferry_core::ports::{NewUser, UserDirectory};
    use ferry_core::values::{EmailAddress, Role};

    async fn setup() -> (tempfile::TempDir, LocalUsers, LocalClients) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("ferry.db")).unwrap();
        let users = LocalUsers::new(db.clone()).unwrap();
        let clients = LocalClients::new(db).unwrap();
        (dir, users, clients)
    }

    #[tokio::test]
    async fn secrets_are_verified_by_hash_and_deleted_owners_take_their_clients() {
        let (_dir, users, clients) = setup().await;
        let owner = users
            .create(NewUser {
                email: EmailAddress::parse("ops@example.org").unwrap(),
                name: "Ops".into(),
                roles: vec![Role::Member],
                password: Some("correct horse battery".into()),
            })
            .await
            .unwrap();
        let issued = clients.create(&owner.id, "nightly").await.unwrap();
        let verified = clients
            .verify(&issued.client.id, &issued.secret)
            .await
            .unwrap();
        assert_eq!(verified, Some(issued.client.clone()));
        assert_eq!(
            clients.verify(&issued.client.id, "wrong").await.unwrap(),
            None
        );
        assert_eq!(
            clients.verify("nobody", &issued.secret).await.unwrap(),
            None
        );
        assert_eq!(clients.list().await.unwrap(), vec![issued.client.clone()]);

        let nobody = UserId::parse("00000000-0000-4000-8000-000000000000").unwrap();
        assert!(matches!(
            clients.create(&nobody, "x").await,
            Err(DirectoryError::NotFound)
        ));

        users.delete(&owner.id).await.unwrap();
        assert_eq!(clients.get(&issued.client.id).await.unwrap(), None);
        assert!(matches!(
            clients.delete(&issued.client.id).await,
            Err(DirectoryError::NotFound)
        ));
    }
}
