//! Users in a Cognito user pool. A Ferry user is a pool user: their id is the Cognito `sub`
//! (what access tokens carry), their roles are their memberships of the groups `admin` and
//! `member`, and `enabled` is the pool's own flag. Cognito sends new users their invitation.

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AttributeDataType, AttributeType, DeliveryMediumType,
    PasswordPolicyType, ResourceServerScopeType, SchemaAttributeType,
    UserAttributeUpdateSettingsType, UserPoolPolicyType, UserPoolTierType, UsernameAttributeType,
    UsernameConfigurationType, VerifiedAttributeType,
};
use ferry_core::ids::UserId;
use ferry_core::model::User;
use ferry_core::ports::{DirectoryError, NewUser, UserDirectory, UserPatch};
use ferry_core::values::{EmailAddress, Role};
use std::collections::HashMap;

/// Every role is a group of the same name.
const ROLES: [Role; 2] = [Role::Admin, Role::Member];
/// The most Cognito returns per page of ListUsers, ListUsersInGroup and AdminListGroupsForUser.
const MAX_PAGE: i32 = 60;

pub struct CognitoDirectory {
    pub(crate) client: Client,
    pub(crate) user_pool_id: String,
    pub(crate) page_size: i32,
    /// Machine clients looked up lately (see `cognito_clients`).
    pub(crate) clients_seen: crate::cognito_clients::SeenClients,
}

/// A pool user as Ferry sees them, with the name the Admin* calls take.
struct Account {
    /// In a pool whose sign-in name is the email, Cognito makes the username a GUID of its own.
    username: String,
    id: UserId,
    email: EmailAddress,
    name: String,
    enabled: bool,
}

impl Account {
    fn new(
        username: Option<&str>,
        attributes: &[AttributeType],
        enabled: bool,
    ) -> anyhow::Result<Self> {
        let sub =
            attribute(attributes, "sub").ok_or_else(|| anyhow!("a Cognito user has no sub"))?;
        let id = UserId::parse(sub).ok_or_else(|| anyhow!("a Cognito sub is malformed"))?;
        let email = attribute(attributes, "email")
            .ok_or_else(|| anyhow!("Cognito user {id} has no email"))
            .and_then(|e| {
                EmailAddress::parse(e)
                    .map_err(|e| anyhow!("Cognito user {id} has a bad email: {e}"))
            })?;
        let username = username
            .ok_or_else(|| anyhow!("Cognito user {id} has no username"))?
            .to_owned();
        Ok(Self {
            username,
            id,
            email,
            name: attribute(attributes, "name").unwrap_or_default().to_owned(),
            enabled,
        })
    }

    fn into_user(self, roles: Vec<Role>) -> User {
        User {
            id: self.id,
            email: self.email,
            name: self.name,
            roles,
            enabled: self.enabled,
        }
    }
}

fn attribute<'a>(attributes: &'a [AttributeType], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.name() == name)
        .and_then(|a| a.value())
}

fn string_attribute(name: &str, value: impl Into<String>) -> Result<AttributeType, DirectoryError> {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| DirectoryError::Other(e.into()))
}

/// Cognito's subs are UUIDs: anything else cannot be a user of the pool, and never reaches a
/// ListUsers filter.
fn plausible_sub(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A value inside a ListUsers filter's quotes.
fn filter_value(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn sorted_roles(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort();
    roles.dedup();
    roles
}

/// The directory's reading of a failed call: Cognito's own verdicts where the port has a word
/// for them, the whole error otherwise.
pub(crate) fn directory_error<E>(e: E, doing: &'static str) -> DirectoryError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e.code() {
        Some("UserNotFoundException") => DirectoryError::NotFound,
        Some("UsernameExistsException" | "AliasExistsException") => DirectoryError::EmailTaken,
        Some("InvalidParameterException" | "InvalidPasswordException") => DirectoryError::Invalid(
            e.message()
                .unwrap_or("Cognito refused the request")
                .to_owned(),
        ),
        _ => DirectoryError::Other(anyhow::Error::new(e).context(doing)),
    }
}

fn is_user_not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("UserNotFoundException")
}

impl CognitoDirectory {
    pub fn new(client: Client, user_pool_id: impl Into<String>) -> Self {
        Self {
            client,
            user_pool_id: user_pool_id.into(),
            page_size: MAX_PAGE,
            clients_seen: Default::default(),
        }
    }

    /// Fewer users or groups per request (at least 1, at most Cognito's 60): the tests use it to
    /// page through a handful of users.
    pub fn with_page_size(mut self, page_size: i32) -> Self {
        self.page_size = page_size.clamp(1, MAX_PAGE);
        self
    }

    async fn account_by_sub(&self, id: &UserId) -> anyhow::Result<Option<Account>> {
        if !plausible_sub(id.as_str()) {
            return Ok(None);
        }
        // A filtered ListUsers may spread its one match over pages: all of them are read.
        let found = self
            .client
            .list_users()
            .user_pool_id(&self.user_pool_id)
            .filter(format!("sub = \"{}\"", filter_value(id.as_str())))
            .into_paginator()
            .page_size(self.page_size)
            .items()
            .send()
            .try_collect()
            .await
            .context("looking a user up by sub")?;
        found
            .iter()
            .find(|u| attribute(u.attributes(), "sub") == Some(id.as_str()))
            .map(|u| Account::new(u.username(), u.attributes(), u.enabled()))
            .transpose()
    }

    async fn roles_of(&self, username: &str) -> anyhow::Result<Vec<Role>> {
        let groups = self
            .client
            .admin_list_groups_for_user()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .into_paginator()
            .page_size(self.page_size)
            .items()
            .send()
            .try_collect()
            .await
            .context("listing a user's groups")?;
        // Groups that are not roles (made by hand in the console, say) are not Ferry's business.
        Ok(sorted_roles(
            groups
                .iter()
                .filter_map(|g| g.group_name().and_then(Role::parse))
                .collect(),
        ))
    }

    /// Ends the user's sessions: their refresh tokens stop working.
    async fn sign_out(&self, username: &str) -> Result<(), DirectoryError> {
        match self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(directory_error(e, "signing a user out")),
        }
    }

    async fn add_to_group(&self, username: &str, role: Role) -> Result<(), DirectoryError> {
        self.client
            .admin_add_user_to_group()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .group_name(role.as_str())
            .send()
            .await
            .map_err(|e| directory_error(e, "adding a user to a group"))?;
        Ok(())
    }

    async fn remove_from_group(&self, username: &str, role: Role) -> Result<(), DirectoryError> {
        self.client
            .admin_remove_user_from_group()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .group_name(role.as_str())
            .send()
            .await
            .map_err(|e| directory_error(e, "removing a user from a group"))?;
        Ok(())
    }

    async fn set_enabled(&self, username: &str, enabled: bool) -> Result<(), DirectoryError> {
        let sent = if enabled {
            self.client
                .admin_enable_user()
                .user_pool_id(&self.user_pool_id)
                .username(username)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| directory_error(e, "enabling a user"))
        } else {
            self.client
                .admin_disable_user()
                .user_pool_id(&self.user_pool_id)
                .username(username)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| directory_error(e, "disabling a user"))
        };
        sent?;
        // Disabling alone blocks sign-in and revokes access tokens, but the refresh tokens
        // would work again after an enable: they end now, as ferry-local's do.
        if !enabled {
            self.sign_out(username).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl UserDirectory for CognitoDirectory {
    async fn get(&self, id: &UserId) -> anyhow::Result<Option<User>> {
        let Some(account) = self.account_by_sub(id).await? else {
            return Ok(None);
        };
        let roles = self.roles_of(&account.username).await?;
        Ok(Some(account.into_user(roles)))
    }

    async fn find_by_email(&self, email: &EmailAddress) -> anyhow::Result<Option<User>> {
        // The email is the pool's sign-in name, so AdminGetUser finds it the way sign-in does.
        let found = match self
            .client
            .admin_get_user()
            .user_pool_id(&self.user_pool_id)
            .username(email.as_str())
            .send()
            .await
        {
            Ok(found) => found,
            Err(e) if is_user_not_found(&e) => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context("looking a user up by email")),
        };
        let account = Account::new(
            Some(found.username()),
            found.user_attributes(),
            found.enabled(),
        )?;
        let roles = self.roles_of(&account.username).await?;
        Ok(Some(account.into_user(roles)))
    }

    async fn list(&self) -> anyhow::Result<Vec<User>> {
        let pool_users = self
            .client
            .list_users()
            .user_pool_id(&self.user_pool_id)
            .into_paginator()
            .page_size(self.page_size)
            .items()
            .send()
            .try_collect()
            .await
            .context("listing users")?;
        // Two listings of the groups instead of one AdminListGroupsForUser per user.
        let mut roles: HashMap<String, Vec<Role>> = HashMap::new();
        for role in ROLES {
            let members = self
                .client
                .list_users_in_group()
                .user_pool_id(&self.user_pool_id)
                .group_name(role.as_str())
                .into_paginator()
                .page_size(self.page_size)
                .items()
                .send()
                .try_collect()
                .await
                .with_context(|| format!("listing the {} group", role.as_str()))?;
            for member in &members {
                if let Some(sub) = attribute(member.attributes(), "sub") {
                    roles.entry(sub.to_owned()).or_default().push(role);
                }
            }
        }
        let mut users = Vec::with_capacity(pool_users.len());
        for pool_user in &pool_users {
            match Account::new(
                pool_user.username(),
                pool_user.attributes(),
                pool_user.enabled(),
            ) {
                Ok(account) => {
                    let roles = roles.remove(account.id.as_str()).unwrap_or_default();
                    users.push(account.into_user(sorted_roles(roles)));
                }
                // One account made by hand with an address Ferry cannot use must not keep
                // admins from managing everyone else.
                Err(e) => tracing::warn!(error = %e, "a pool user is left out of the list"),
            }
        }
        users.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(users)
    }

    async fn create(&self, user: NewUser) -> Result<User, DirectoryError> {
        let roles = sorted_roles(user.roles);
        let mut request = self
            .client
            .admin_create_user()
            .user_pool_id(&self.user_pool_id)
            .username(user.email.as_str())
            .user_attributes(string_attribute("email", user.email.as_str())?)
            // The invitation goes to this address and the first sign-in proves it; verified,
            // it can also receive password resets.
            .user_attributes(string_attribute("email_verified", "true")?)
            .user_attributes(string_attribute("name", user.name)?)
            .desired_delivery_mediums(DeliveryMediumType::Email);
        if let Some(password) = user.password {
            request = request.temporary_password(password);
        }
        let created = request
            .send()
            .await
            .map_err(|e| directory_error(e, "creating a user"))?;
        let pool_user = created
            .user()
            .ok_or_else(|| anyhow!("Cognito created a user without describing it"))?;
        let account = Account::new(
            pool_user.username(),
            pool_user.attributes(),
            pool_user.enabled(),
        )?;
        for &role in &roles {
            if let Err(e) = self.add_to_group(&account.username, role).await {
                // Nothing half-made stays behind: a user without the roles asked for would
                // be invited all the same.
                if let Err(undo) = self
                    .client
                    .admin_delete_user()
                    .user_pool_id(&self.user_pool_id)
                    .username(&account.username)
                    .send()
                    .await
                {
                    tracing::error!(
                        sub = %account.id,
                        error = %DisplayErrorContext(&undo),
                        "a user whose groups could not be set could not be removed either"
                    );
                }
                return Err(e);
            }
        }
        Ok(account.into_user(roles))
    }

    async fn update(&self, id: &UserId, patch: UserPatch) -> Result<User, DirectoryError> {
        let mut account = self
            .account_by_sub(id)
            .await?
            .ok_or(DirectoryError::NotFound)?;
        let username = account.username.clone();
        // A disable goes first, so that a later step failing leaves the account locked; an
        // enable goes last, once everything else has been applied.
        if patch.enabled == Some(false) {
            self.set_enabled(&username, false).await?;
            account.enabled = false;
        }
        if let Some(name) = patch.name {
            self.client
                .admin_update_user_attributes()
                .user_pool_id(&self.user_pool_id)
                .username(&username)
                .user_attributes(string_attribute("name", name.clone())?)
                .send()
                .await
                .map_err(|e| directory_error(e, "renaming a user"))?;
            account.name = name;
        }
        let current = self.roles_of(&username).await?;
        let roles = match patch.roles {
            None => current,
            Some(wanted) => {
                let wanted = sorted_roles(wanted);
                // Removals first: a failure half-way leaves fewer rights, not more.
                for &role in current.iter().filter(|r| !wanted.contains(r)) {
                    self.remove_from_group(&username, role).await?;
                }
                for &role in wanted.iter().filter(|r| !current.contains(r)) {
                    self.add_to_group(&username, role).await?;
                }
                wanted
            }
        };
        if patch.enabled == Some(true) {
            self.set_enabled(&username, true).await?;
            account.enabled = true;
        }
        Ok(account.into_user(roles))
    }

    async fn delete(&self, id: &UserId) -> Result<(), DirectoryError> {
        let account = self
            .account_by_sub(id)
            .await?
            .ok_or(DirectoryError::NotFound)?;
        match self.sign_out(&account.username).await {
            // Deleted in the meantime: the delete below says so.
            Ok(()) | Err(DirectoryError::NotFound) => {}
            Err(e) => return Err(e),
        }
        self.client
            .admin_delete_user()
            .user_pool_id(&self.user_pool_id)
            .username(&account.username)
            .send()
            .await
            .map_err(|e| directory_error(e, "deleting a user"))?;
        Ok(())
    }
}

/// Creates a user pool set up like template.yaml's (the email is the sign-in name, a `name`
/// attribute, accounts made by administrators only, the same password policy) with the groups
/// `admin` and `member`, and returns its id. What the template adds for production (MFA,
/// SES as the sender, the invitation's wording) is left out: it needs the deployment's values.
pub async fn create_user_pool(client: &Client, name: &str) -> anyhow::Result<String> {
    let schema = |attribute: &str, required: bool| {
        SchemaAttributeType::builder()
            .name(attribute)
            .attribute_data_type(AttributeDataType::String)
            .required(required)
            .mutable(true)
            .build()
    };
    let created = client
        .create_user_pool()
        .pool_name(name)
        .user_pool_tier(UserPoolTierType::Lite)
        .username_attributes(UsernameAttributeType::Email)
        // Ferry stores emails in lower case; people type them in any case.
        .username_configuration(
            UsernameConfigurationType::builder()
                .case_sensitive(false)
                .build()
                .context("describing the username configuration")?,
        )
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .user_attribute_update_settings(
            UserAttributeUpdateSettingsType::builder()
                .attributes_require_verification_before_update(VerifiedAttributeType::Email)
                .build(),
        )
        .schema(schema("email", true))
        .schema(schema("name", false))
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(
                    PasswordPolicyType::builder()
                        .minimum_length(12)
                        .require_lowercase(true)
                        .require_uppercase(true)
                        .require_numbers(true)
                        .require_symbols(false)
                        .temporary_password_validity_days(7)
                        .build(),
                )
                .build(),
        )
        .admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .allow_admin_create_user_only(true)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("creating the user pool {name}"))?;
    let pool_id = created
        .user_pool()
        .and_then(|p| p.id())
        .ok_or_else(|| anyhow!("Cognito created a user pool without an id"))?
        .to_owned();
    for (group, description, precedence) in [
        ("admin", "Administer users and read the audit trail.", 0),
        ("member", "Send transfers.", 10),
    ] {
        client
            .create_group()
            .user_pool_id(&pool_id)
            .group_name(group)
            .description(description)
            .precedence(precedence)
            .send()
            .await
            .with_context(|| format!("creating the group {group}"))?;
    }
    // The scope machine clients are given: `ferry/transfers`.
    client
        .create_resource_server()
        .user_pool_id(&pool_id)
        .identifier("ferry")
        .name("Ferry API")
        .scopes(
            ResourceServerScopeType::builder()
                .scope_name("transfers")
                .scope_description("Send and receive transfers as the client's owner")
                .build()
                .context("describing the machine scope")?,
        )
        .send()
        .await
        .context("creating the resource server")?;
    Ok(pool_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuid_shaped_subs_are_looked_up() {
        assert!(plausible_sub("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!plausible_sub("0f8fad5b-d9cb-469f-a165-70867728950"));
        assert!(!plausible_sub("0f8fad5bd9cb-469f-a165-70867728950e-"));
        assert!(!plausible_sub("0f8fad5b-d9cb-469f-a165-70867728950\""));
        assert!(!plausible_sub("no-such-user"));
    }

    #[test]
    fn filter_values_cannot_close_their_quotes() {
        assert_eq!(filter_value(r#"a"b\c"#), r#"a\"b\\c"#);
    }
}
