//! Machine clients: OAuth client credentials an admin creates for a user, so that a script, a
//! nightly export or a target system sends and receives as that user without a browser.

use super::Ferry;
use super::admin::directory_error;
use crate::auth::AuthUser;
use crate::error::{Error, Result};
use crate::model::MachineClient;
use crate::ports::{DirectoryError, IssuedClient};
use crate::values::EmailAddress;

pub struct CreateClient {
    pub name: String,
    pub owner_email: String,
}

const MAX_NAME_CHARS: usize = 64;

/// Names become part of Cognito's client name, which allows only these characters.
pub fn parse_client_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid("name: a name is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(format!(
            "name: at most {MAX_NAME_CHARS} characters"
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || " ._@+=,-".contains(*c)))
    {
        return Err(Error::invalid(format!(
            "name: '{bad}' is not allowed (letters, digits, spaces and ._@+=,- are)"
        )));
    }
    Ok(name.to_owned())
}

/// How the audit trail names a client: with the user it acts for.
pub fn audit_subject(client: &MachineClient) -> String {
    format!("client:{} user:{}", client.id, client.owner)
}

impl Ferry {
    pub async fn create_client(
        &self,
        admin: &AuthUser,
        request: CreateClient,
        source_ip: Option<String>,
    ) -> Result<IssuedClient> {
        self.may_manage_users(admin)?;
        let name = parse_client_name(&request.name)?;
        let email = EmailAddress::parse(&request.owner_email)
            .map_err(|e| Error::invalid(format!("owner_email: {e}")))?;
        let owner = self
            .ports
            .users
            .find_by_email(&email)
            .await?
            .filter(|u| u.enabled)
            .ok_or_else(|| Error::invalid("owner_email: no enabled user has this address"))?;
        let issued = self
            .ports
            .clients
            .create(&owner.id, &name)
            .await
            .map_err(directory_error)?;
        self.audit_admin(
            admin,
            "client.created",
            audit_subject(&issued.client),
            source_ip,
        )
        .await;
        Ok(issued)
    }

    pub async fn list_clients(&self, admin: &AuthUser) -> Result<Vec<MachineClient>> {
        self.may_manage_users(admin)?;
        Ok(self.ports.clients.list().await?)
    }

    pub async fn delete_client(
        &self,
        admin: &AuthUser,
        id: &str,
        source_ip: Option<String>,
    ) -> Result<()> {
        self.may_manage_users(admin)?;
        // Cognito's ids and ours are letters and digits; nothing else is looked up.
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::not_found("client"));
        }
        let client = self
            .ports
            .clients
            .get(id)
            .await?
            .ok_or_else(|| Error::not_found("client"))?;
        self.ports
            .clients
            .delete(&client.id)
            .await
            .map_err(|e| match e {
                DirectoryError::NotFound => Error::not_found("client"),
                e => directory_error(e),
            })?;
        self.audit_admin(admin, "client.deleted", audit_subject(&client), source_ip)
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_client_name;

    #[test]
    fn client_names_are_plain_and_short() {
        assert_eq!(
            parse_client_name("  nightly export-1 ").unwrap(),
            "nightly export-1"
        );
        assert!(parse_client_name("").is_err());
        assert!(parse_client_name("a/b").is_err());
        assert!(parse_client_name("naïve").is_err());
        assert!(parse_client_name(&"x".repeat(65)).is_err());
        assert!(parse_client_name(&"x".repeat(64)).is_ok());
    }
}
