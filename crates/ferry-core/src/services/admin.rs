//! R4: user administration, and the admin's view of the audit trail.

use super::Ferry;
use crate::audit::{AuditEvent, AuditPage, AuditQuery, Outcome};
use crate::auth::AuthUser;
use crate::config::UserSource;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::User;
use crate::ports::{DirectoryError, NewUser, UserPatch};
use crate::values::{EmailAddress, Role, clean_text};

pub struct CreateUser {
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub password: Option<String>,
}

pub struct ChangeUser {
    pub name: Option<String>,
    pub roles: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

fn require_admin(admin: &AuthUser) -> Result<()> {
    if admin.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(Error::Forbidden("only admins may do this".into()))
    }
}

fn parse_roles(raw: &[String]) -> Result<Vec<Role>> {
    let mut roles = Vec::new();
    for r in raw {
        let role = Role::parse(r).ok_or_else(|| {
            Error::invalid(format!(
                "roles: '{}' is not a role (admin, member)",
                r.chars().take(40).collect::<String>()
            ))
        })?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort();
    Ok(roles)
}

fn parse_name(raw: &str) -> Result<String> {
    let name = clean_text(raw, 120, false).map_err(|e| Error::invalid(format!("name: {e}")))?;
    if name.is_empty() {
        return Err(Error::invalid("name: a name is required"));
    }
    Ok(name)
}

pub(super) fn directory_error(e: DirectoryError) -> Error {
    match e {
        DirectoryError::EmailTaken => Error::Conflict(e.to_string()),
        DirectoryError::NotFound => Error::not_found("user"),
        DirectoryError::Invalid(detail) => Error::Invalid(detail),
        DirectoryError::Other(e) => Error::Unexpected(e),
    }
}

impl Ferry {
    /// Users and their machine clients are Ferry's to manage only where it keeps the directory.
    pub(super) fn may_manage_users(&self, admin: &AuthUser) -> Result<()> {
        require_admin(admin)?;
        match self.settings.users {
            UserSource::Directory => Ok(()),
            UserSource::Token => Err(Error::Conflict(
                "users are managed by the identity provider you sign in with: add, change and \
                 remove them there"
                    .into(),
            )),
        }
    }

    pub async fn list_users(&self, admin: &AuthUser) -> Result<Vec<User>> {
        self.may_manage_users(admin)?;
        Ok(self.ports.users.list().await?)
    }

    pub async fn create_user(
        &self,
        admin: &AuthUser,
        request: CreateUser,
        source_ip: Option<String>,
    ) -> Result<User> {
        self.may_manage_users(admin)?;
        let email = EmailAddress::parse(&request.email)
            .map_err(|e| Error::invalid(format!("email: {e}")))?;
        let name = parse_name(&request.name)?;
        let roles = parse_roles(&request.roles)?;
        let user = self
            .ports
            .users
            .create(NewUser {
                email,
                name,
                roles,
                password: request.password,
            })
            .await
            .map_err(directory_error)?;
        self.audit_admin(
            admin,
            "user.created",
            format!("user:{}", user.id),
            source_ip,
        )
        .await;
        Ok(user)
    }

    pub async fn change_user(
        &self,
        admin: &AuthUser,
        id: &str,
        change: ChangeUser,
        source_ip: Option<String>,
    ) -> Result<User> {
        self.may_manage_users(admin)?;
        let id = UserId::parse(id).ok_or_else(|| Error::not_found("user"))?;
        let patch = UserPatch {
            name: change.name.as_deref().map(parse_name).transpose()?,
            roles: change.roles.as_deref().map(parse_roles).transpose()?,
            enabled: change.enabled,
        };
        if id == admin.id
            && (patch.enabled == Some(false)
                || patch
                    .roles
                    .as_ref()
                    .is_some_and(|r| !r.contains(&Role::Admin)))
        {
            return Err(Error::Conflict(
                "admins cannot disable themselves or drop their own admin role".into(),
            ));
        }
        let user = self
            .ports
            .users
            .update(&id, patch)
            .await
            .map_err(directory_error)?;
        self.audit_admin(admin, "user.changed", format!("user:{id}"), source_ip)
            .await;
        Ok(user)
    }

    pub async fn delete_user(
        &self,
        admin: &AuthUser,
        id: &str,
        source_ip: Option<String>,
    ) -> Result<()> {
        self.may_manage_users(admin)?;
        let id = UserId::parse(id).ok_or_else(|| Error::not_found("user"))?;
        if id == admin.id {
            return Err(Error::Conflict("admins cannot delete themselves".into()));
        }
        self.ports
            .users
            .delete(&id)
            .await
            .map_err(directory_error)?;
        self.audit_admin(admin, "user.deleted", format!("user:{id}"), source_ip)
            .await;
        Ok(())
    }

    /// An admin's action on `subject` (`user:<id>`, `client:<id> user:<id>`).
    pub(super) async fn audit_admin(
        &self,
        admin: &AuthUser,
        action: &str,
        subject: String,
        source_ip: Option<String>,
    ) {
        self.audit(
            AuditEvent::new(
                format!("user:{}", admin.id),
                action,
                Outcome::Success,
                self.now(),
            )
            .detail(subject)
            .source_ip(source_ip),
        )
        .await;
    }

    pub async fn query_audit(&self, admin: &AuthUser, mut query: AuditQuery) -> Result<AuditPage> {
        require_admin(admin)?;
        query.limit = query.limit.clamp(1, 500);
        Ok(self.ports.catalog.query_audit(&query).await?)
    }
}
