//! The user directory of ferry-local, in the embedded database: accounts with argon2id password
//! hashes, TOTP secrets, and the rotating refresh tokens of the local identity provider.

use crate::db::Db;
use anyhow::{Context, anyhow};
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use ferry_core::ids::UserId;
use ferry_core::model::User;
use ferry_core::ports::{DirectoryError, NewUser, UserDirectory, UserPatch};
use ferry_core::values::{EmailAddress, Role};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Refresh tokens live this long; each rotation starts a new period.
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;
const TOTP_STEP: u64 = 30;
const TOTP_ISSUER: &str = "Ferry";
/// After this many wrong codes in a row, codes are refused for a while: six digits do not
/// survive unlimited guessing by someone who has the password.
const TOTP_MAX_FAILURES: i64 = 10;
const TOTP_LOCKOUT_SECS: i64 = 15 * 60;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    roles TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    totp_pending TEXT,
    totp_last_step INTEGER,
    totp_failures INTEGER NOT NULL DEFAULT 0,
    totp_failed_at INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_user ON refresh_tokens (user_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_expiry ON refresh_tokens (expires_at);
";

const USER_COLUMNS: &str = "id, email, name, roles, enabled";

pub struct LocalUsers {
    db: Db,
    /// Verified against when an email is unknown, so that a miss costs as much as a hit.
    dummy_hash: String,
}

/// A TOTP secret waiting for its first code.
#[derive(Clone, Debug)]
pub struct TotpEnrollment {
    /// Base32, for typing into an authenticator by hand.
    pub secret: String,
    /// The `otpauth://` URI that the QR code carries.
    pub uri: String,
}

/// The outcome of a successful refresh: the user, and the token that replaces the one spent.
#[derive(Debug)]
pub struct Rotated {
    pub user: User,
    pub refresh_token: String,
}

/// What is wrong with a new password, if anything.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Some(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        ))
    } else if chars > MAX_PASSWORD_CHARS {
        Some(format!(
            "a password has at most {MAX_PASSWORD_CHARS} characters"
        ))
    } else {
        None
    }
}

fn now_text() -> String {
    Utc::now().to_rfc3339()
}

fn unix_now() -> i64 {
    Utc::now().timestamp()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_user_id() -> UserId {
    UserId::parse(&uuid::Uuid::new_v4().to_string()).expect("a uuid is a valid user id")
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("hashing a password: {e}"))
}

fn verify_blocking(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Argon2 takes tens of milliseconds of CPU: it runs on the blocking pool.
async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .context("the password hashing task failed")?
}

struct RawUser {
    id: String,
    email: String,
    name: String,
    roles: String,
    enabled: bool,
}

impl RawUser {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            email: row.get(1)?,
            name: row.get(2)?,
            roles: row.get(3)?,
            enabled: row.get(4)?,
        })
    }

    fn into_user(self) -> anyhow::Result<User> {
        Ok(User {
            id: UserId::parse(&self.id).context("a stored user id is malformed")?,
            email: EmailAddress::parse(&self.email).map_err(|e| anyhow!("a stored email: {e}"))?,
            name: self.name,
            roles: serde_json::from_str(&self.roles).context("stored roles are malformed")?,
            enabled: self.enabled,
        })
    }
}

fn user_by_id(c: &Connection, id: &str) -> anyhow::Result<Option<User>> {
    c.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        [id],
        RawUser::from_row,
    )
    .optional()
    .context("reading a user")?
    .map(RawUser::into_user)
    .transpose()
}

fn user_and_hash(c: &Connection, email: &EmailAddress) -> anyhow::Result<Option<(User, String)>> {
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = ?1");
    let row = c
        .query_row(&sql, [email.as_str()], |r| {
            Ok((RawUser::from_row(r)?, r.get::<_, String>(5)?))
        })
        .optional()
        .context("reading a user")?;
    row.map(|(raw, hash)| Ok((raw.into_user()?, hash)))
        .transpose()
}

fn normalized_roles(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort();
    roles.dedup();
    roles
}

fn roles_json(roles: &[Role]) -> anyhow::Result<String> {
    serde_json::to_string(roles).context("encoding roles")
}

fn revoke_all_refresh(c: &Connection, user_id: &str) -> anyhow::Result<()> {
    c.execute("DELETE FROM refresh_tokens WHERE user_id = ?1", [user_id])
        .context("revoking refresh tokens")?;
    Ok(())
}

fn totp_for(secret_base32: &str, email: &str) -> anyhow::Result<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|_| anyhow!("a stored TOTP secret is not base32"))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        TOTP_STEP,
        bytes,
        Some(TOTP_ISSUER.to_owned()),
        email.to_owned(),
    )
    .map_err(|e| anyhow!("preparing TOTP: {e}"))
}

/// The time step whose code `code` is (this one, the one before or the one after), if any.
fn matching_step(totp: &TOTP, code: &str, now: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now / TOTP_STEP;
    let mut found = None;
    // Every candidate is compared, in constant time, so timing says nothing about which matched.
    for step in current.saturating_sub(1)..=current + 1 {
        let expected = totp.generate(step * TOTP_STEP);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step as i64);
        }
    }
    found
}

fn unix_now_u64() -> u64 {
    u64::try_from(unix_now()).unwrap_or(0)
}

impl LocalUsers {
    pub fn new(db: Db) -> anyhow::Result<Self> {
        db.blocking(|c| c.execute_batch(SCHEMA).context("creating the user tables"))?;
        let dummy_hash = hash_blocking(&random_token())?;
        Ok(Self { db, dummy_hash })
    }

    /// The enabled user with this email and password. Unknown emails cost the same argon2 work
    /// as known ones, so the answer time does not tell which addresses have accounts.
    pub async fn verify_password(
        &self,
        email: &str,
        password: &str,
    ) -> anyhow::Result<Option<User>> {
        let found = match EmailAddress::parse(email) {
            Ok(email) => self.db.call(move |c| user_and_hash(c, &email)).await?,
            Err(_) => None,
        };
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), hash),
            None => (None, self.dummy_hash.clone()),
        };
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify_blocking(&hash, &password))
            .await
            .context("the password check failed")?;
        Ok(user.filter(|u| matches && u.enabled))
    }

    /// Replaces the password and ends every session of the user (refresh tokens).
    pub async fn set_password(&self, id: &UserId, password: &str) -> Result<(), DirectoryError> {
        if let Some(problem) = password_problem(password) {
            return Err(DirectoryError::Invalid(problem));
        }
        let hash = hash_password(password.to_owned()).await?;
        let id = id.to_string();
        let changed = self
            .db
            .call(move |c| {
                let tx = c.transaction()?;
                let n = tx.execute(
                    "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, hash, now_text()],
                )?;
                revoke_all_refresh(&tx, &id)?;
                tx.commit()?;
                Ok(n > 0)
            })
            .await?;
        if changed {
            Ok(())
        } else {
            Err(DirectoryError::NotFound)
        }
    }

    /// Starts (or restarts) TOTP enrollment: a new secret, kept aside until a code confirms it.
    /// `None` when the user does not exist.
    pub async fn begin_totp(&self, id: &UserId) -> anyhow::Result<Option<TotpEnrollment>> {
        let id = id.to_string();
        let secret = match Secret::generate_secret().to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => return Err(anyhow!("a TOTP secret could not be encoded")),
        };
        self.db
            .call(move |c| {
                let Some(user) = user_by_id(c, &id)? else {
                    return Ok(None);
                };
                let enrollment = enrollment(&secret, &user)?;
                c.execute(
                    "UPDATE users SET totp_pending = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, secret, now_text()],
                )?;
                Ok(Some(enrollment))
            })
            .await
    }

    /// The enrollment in progress, if there is one.
    pub async fn pending_totp(&self, id: &UserId) -> anyhow::Result<Option<TotpEnrollment>> {
        let id = id.to_string();
        self.db
            .call(move |c| {
                let Some(user) = user_by_id(c, &id)? else {
                    return Ok(None);
                };
                let pending: Option<String> =
                    c.query_row("SELECT totp_pending FROM users WHERE id = ?1", [&id], |r| {
                        r.get(0)
                    })?;
                pending.map(|secret| enrollment(&secret, &user)).transpose()
            })
            .await
    }

    /// Turns TOTP on if `code` is valid for the pending secret.
    pub async fn confirm_totp(&self, id: &UserId, code: &str) -> anyhow::Result<bool> {
        let id = id.to_string();
        let code = code.to_owned();
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                let row: Option<(String, Option<String>)> = tx
                    .query_row(
                        "SELECT email, totp_pending FROM users WHERE id = ?1",
                        [&id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let Some((email, Some(pending))) = row else {
                    return Ok(false);
                };
                let Some(step) = matching_step(&totp_for(&pending, &email)?, &code, unix_now_u64())
                else {
                    return Ok(false);
                };
                tx.execute(
                    "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL,
                        totp_last_step = ?2, totp_failures = 0, totp_failed_at = NULL, updated_at = ?3
                     WHERE id = ?1",
                    params![id, step, now_text()],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await
    }

    pub async fn totp_enabled(&self, id: &UserId) -> anyhow::Result<bool> {
        let id = id.to_string();
        self.db
            .call(move |c| {
                let secret: Option<Option<String>> = c
                    .query_row("SELECT totp_secret FROM users WHERE id = ?1", [&id], |r| {
                        r.get(0)
                    })
                    .optional()?;
                Ok(secret.flatten().is_some())
            })
            .await
    }

    /// Whether `code` is the user's current TOTP code. A code is accepted once: a replay within
    /// its window is refused, and so is any code after too many wrong ones in a row.
    pub async fn check_totp(&self, id: &UserId, code: &str) -> anyhow::Result<bool> {
        let id = id.to_string();
        let code = code.to_owned();
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                type TotpRow = (String, Option<String>, Option<i64>, i64, Option<i64>);
                let row: Option<TotpRow> = tx
                    .query_row(
                        "SELECT email, totp_secret, totp_last_step, totp_failures, totp_failed_at
                         FROM users WHERE id = ?1",
                        [&id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                    )
                    .optional()?;
                let Some((email, Some(secret), last_step, failures, failed_at)) = row else {
                    return Ok(false);
                };
                let now = unix_now();
                let recent = failed_at.is_some_and(|at| now - at < TOTP_LOCKOUT_SECS);
                let locked = failures >= TOTP_MAX_FAILURES && recent;
                let step = matching_step(&totp_for(&secret, &email)?, &code, unix_now_u64());
                let fresh = step.filter(|s| last_step.is_none_or(|last| *s > last));
                match fresh {
                    Some(step) if !locked => {
                        tx.execute(
                            "UPDATE users SET totp_last_step = ?2, totp_failures = 0,
                                totp_failed_at = NULL WHERE id = ?1",
                            params![id, step],
                        )?;
                        tx.commit()?;
                        Ok(true)
                    }
                    _ => {
                        // An old failure does not count: the streak starts afresh.
                        let failures = if recent { failures + 1 } else { 1 };
                        tx.execute(
                            "UPDATE users SET totp_failures = ?2, totp_failed_at = ?3 WHERE id = ?1",
                            params![id, failures, now],
                        )?;
                        tx.commit()?;
                        Ok(false)
                    }
                }
            })
            .await
    }

    /// A new refresh token for `user`, the first of a new family. Only its hash is stored.
    pub async fn issue_refresh(&self, user: &UserId) -> anyhow::Result<String> {
        let token = random_token();
        let hash = token_hash(&token);
        let family = uuid::Uuid::new_v4().to_string();
        let user = user.to_string();
        self.db
            .call(move |c| {
                let now = unix_now();
                c.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?1", [now])
                    .context("dropping expired refresh tokens")?;
                c.execute(
                    "INSERT INTO refresh_tokens (hash, user_id, family, expires_at, used)
                     VALUES (?1, ?2, ?3, ?4, 0)",
                    params![hash, user, family, now + REFRESH_TTL_SECS],
                )
                .context("storing a refresh token")?;
                Ok(())
            })
            .await?;
        Ok(token)
    }

    /// Spends a refresh token and returns its replacement, for an enabled user only. A token
    /// that was already spent means it leaked (or the client raced itself): its whole family is
    /// revoked, so neither the thief nor the owner can go on refreshing.
    pub async fn redeem_refresh(&self, token: &str) -> anyhow::Result<Option<Rotated>> {
        let hash = token_hash(token);
        let next = random_token();
        let next_hash = token_hash(&next);
        let user = self
            .db
            .call(move |c| {
                let tx = c.transaction()?;
                let row: Option<(String, String, i64, bool)> = tx
                    .query_row(
                        "SELECT user_id, family, expires_at, used FROM refresh_tokens WHERE hash = ?1",
                        [&hash],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )
                    .optional()?;
                let Some((user_id, family, expires_at, used)) = row else {
                    return Ok(None);
                };
                let now = unix_now();
                let user = user_by_id(&tx, &user_id)?.filter(|u| u.enabled);
                let user = match user {
                    Some(user) if !used && expires_at > now => user,
                    _ => {
                        tx.execute("DELETE FROM refresh_tokens WHERE family = ?1", [&family])?;
                        tx.commit()?;
                        if used {
                            tracing::warn!(user = %user_id, "a spent refresh token was replayed");
                        }
                        return Ok(None);
                    }
                };
                tx.execute("UPDATE refresh_tokens SET used = 1 WHERE hash = ?1", [&hash])?;
                tx.execute(
                    "INSERT INTO refresh_tokens (hash, user_id, family, expires_at, used)
                     VALUES (?1, ?2, ?3, ?4, 0)",
                    params![next_hash, user_id, family, now + REFRESH_TTL_SECS],
                )?;
                tx.commit()?;
                Ok(Some(user))
            })
            .await?;
        Ok(user.map(|user| Rotated {
            user,
            refresh_token: next,
        }))
    }

    /// Revokes the family of a refresh token (all tokens descended from the same sign-in).
    pub async fn revoke_refresh(&self, token: &str) -> anyhow::Result<()> {
        let hash = token_hash(token);
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM refresh_tokens WHERE family IN
                        (SELECT family FROM refresh_tokens WHERE hash = ?1)",
                    [&hash],
                )
                .context("revoking a refresh token")?;
                Ok(())
            })
            .await
    }
}

fn enrollment(secret: &str, user: &User) -> anyhow::Result<TotpEnrollment> {
    let totp = totp_for(secret, user.email.as_str())?;
    Ok(TotpEnrollment {
        secret: secret.to_owned(),
        uri: totp.get_url(),
    })
}

#[async_trait]
impl UserDirectory for LocalUsers {
    async fn get(&self, id: &UserId) -> anyhow::Result<Option<User>> {
        let id = id.to_string();
        self.db.call(move |c| user_by_id(c, &id)).await
    }

    async fn find_by_email(&self, email: &EmailAddress) -> anyhow::Result<Option<User>> {
        let email = email.as_str().to_owned();
        self.db
            .call(move |c| {
                c.query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
                    [email],
                    RawUser::from_row,
                )
                .optional()
                .context("reading a user")?
                .map(RawUser::into_user)
                .transpose()
            })
            .await
    }

    async fn list(&self) -> anyhow::Result<Vec<User>> {
        self.db
            .call(|c| {
                let mut stmt =
                    c.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY email"))?;
                let raw = stmt
                    .query_map([], RawUser::from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .context("listing users")?;
                raw.into_iter().map(RawUser::into_user).collect()
            })
            .await
    }

    async fn create(&self, user: NewUser) -> Result<User, DirectoryError> {
        let password = user.password.ok_or_else(|| {
            DirectoryError::Invalid("ferry-local needs an initial password for a new user".into())
        })?;
        if let Some(problem) = password_problem(&password) {
            return Err(DirectoryError::Invalid(problem));
        }
        let hash = hash_password(password).await?;
        let created = User {
            id: new_user_id(),
            email: user.email,
            name: user.name,
            roles: normalized_roles(user.roles),
            enabled: true,
        };
        let row = created.clone();
        let inserted = self
            .db
            .call(move |c| {
                let taken = c
                    .query_row("SELECT 1 FROM users WHERE email = ?1", [row.email.as_str()], |_| {
                        Ok(())
                    })
                    .optional()?
                    .is_some();
                if taken {
                    return Ok(false);
                }
                let now = now_text();
                c.execute(
                    "INSERT INTO users (id, email, name, roles, enabled, password_hash, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6)",
                    params![
                        row.id.as_str(),
                        row.email.as_str(),
                        row.name,
                        roles_json(&row.roles)?,
                        hash,
                        now
                    ],
                )
                .context("storing a user")?;
                Ok(true)
            })
            .await?;
        if inserted {
            Ok(created)
        } else {
            Err(DirectoryError::EmailTaken)
        }
    }

    async fn update(&self, id: &UserId, patch: UserPatch) -> Result<User, DirectoryError> {
        let id = id.to_string();
        let updated = self
            .db
            .call(move |c| {
                let tx = c.transaction()?;
                let Some(mut user) = user_by_id(&tx, &id)? else {
                    return Ok(None);
                };
                if let Some(name) = patch.name {
                    user.name = name;
                }
                if let Some(roles) = patch.roles {
                    user.roles = normalized_roles(roles);
                }
                if let Some(enabled) = patch.enabled {
                    user.enabled = enabled;
                }
                tx.execute(
                    "UPDATE users SET name = ?2, roles = ?3, enabled = ?4, updated_at = ?5 WHERE id = ?1",
                    params![id, user.name, roles_json(&user.roles)?, user.enabled, now_text()],
                )
                .context("updating a user")?;
                if !user.enabled {
                    revoke_all_refresh(&tx, &id)?;
                }
                tx.commit()?;
                Ok(Some(user))
            })
            .await?;
        updated.ok_or(DirectoryError::NotFound)
    }

    async fn delete(&self, id: &UserId) -> Result<(), DirectoryError> {
        let id = id.to_string();
        let deleted = self
            .db
            .call(move |c| {
                let tx = c.transaction()?;
                revoke_all_refresh(&tx, &id)?;
                let n = tx
                    .execute("DELETE FROM users WHERE id = ?1", [&id])
                    .context("deleting a user")?;
                tx.commit()?;
                Ok(n > 0)
            })
            .await?;
        if deleted {
            Ok(())
        } else {
            Err(DirectoryError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "a long enough password";

    fn users() -> (tempfile::TempDir, LocalUsers) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("u.db")).unwrap();
        (dir, LocalUsers::new(db).unwrap())
    }

    fn new_user(email: &str, password: Option<&str>) -> NewUser {
        NewUser {
            email: EmailAddress::parse(email).unwrap(),
            name: "Someone".into(),
            roles: vec![Role::Member],
            password: password.map(str::to_owned),
        }
    }

    async fn set_enabled(users: &LocalUsers, id: &UserId, enabled: bool) {
        let patch = UserPatch {
            enabled: Some(enabled),
            ..UserPatch::default()
        };
        users.update(id, patch).await.unwrap();
    }

    fn code_at(secret: &str, email: &str, time: u64) -> String {
        totp_for(secret, email).unwrap().generate(time)
    }

    #[tokio::test]
    async fn creating_needs_a_good_password_and_a_free_email() {
        let (_dir, users) = users();
        let missing = users.create(new_user("a@example.org", None)).await;
        let Err(DirectoryError::Invalid(message)) = missing else {
            panic!("a password is required");
        };
        assert_eq!(
            message,
            "ferry-local needs an initial password for a new user"
        );
        let short = users
            .create(new_user("a@example.org", Some("short")))
            .await
            .unwrap_err();
        assert!(
            matches!(&short, DirectoryError::Invalid(m) if m.contains("at least 12")),
            "{short}"
        );
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        let long = users
            .create(new_user("a@example.org", Some(&long)))
            .await
            .unwrap_err();
        assert!(
            matches!(&long, DirectoryError::Invalid(m) if m.contains("at most 1024")),
            "{long}"
        );
        assert!(users.list().await.unwrap().is_empty());

        let a = users
            .create(new_user("a@example.org", Some(PASSWORD)))
            .await
            .unwrap();
        assert!(a.enabled);
        assert!(
            uuid::Uuid::parse_str(a.id.as_str()).is_ok(),
            "ids are uuids: they become `sub`"
        );
        let again = users
            .create(new_user("A@example.org", Some(PASSWORD)))
            .await
            .unwrap_err();
        assert!(matches!(again, DirectoryError::EmailTaken));
        assert_eq!(users.get(&a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(users.find_by_email(&a.email).await.unwrap(), Some(a));
    }

    #[tokio::test]
    async fn list_is_ordered_by_email_and_updates_patch() {
        let (_dir, users) = users();
        let c = users
            .create(new_user("c@example.org", Some(PASSWORD)))
            .await
            .unwrap();
        users
            .create(new_user("a@example.org", Some(PASSWORD)))
            .await
            .unwrap();
        users
            .create(new_user("b@example.org", Some(PASSWORD)))
            .await
            .unwrap();
        let emails: Vec<String> = users
            .list()
            .await
            .unwrap()
            .iter()
            .map(|u| u.email.to_string())
            .collect();
        assert_eq!(emails, ["a@example.org", "b@example.org", "c@example.org"]);

        let changed = users
            .update(
                &c.id,
                UserPatch {
                    name: Some("Cee".into()),
                    roles: Some(vec![Role::Member, Role::Admin]),
                    enabled: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(changed.name, "Cee");
        assert_eq!(changed.roles, vec![Role::Admin, Role::Member]);
        assert!(changed.enabled);
        assert_eq!(users.get(&c.id).await.unwrap(), Some(changed));
        let missing = UserId::parse("no-such-user").unwrap();
        assert!(matches!(
            users.update(&missing, UserPatch::default()).await,
            Err(DirectoryError::NotFound)
        ));
        assert!(matches!(
            users.delete(&missing).await,
            Err(DirectoryError::NotFound)
        ));
        users.delete(&c.id).await.unwrap();
        assert_eq!(users.get(&c.id).await.unwrap(), None);
        assert!(matches!(
            users.delete(&c.id).await,
            Err(DirectoryError::NotFound)
        ));
    }

    #[tokio::test]
    async fn passwords_verify_only_for_enabled_users() {
        let (_dir, users) = users();
        let a = users
            .create(new_user("a@example.org", Some(PASSWORD)))
            .await
            .unwrap();
        assert_eq!(
            users
                .verify_password("A@Example.org", PASSWORD)
                .await
                .unwrap(),
            Some(a.clone())
        );
        assert_eq!(
            users
                .verify_password("a@example.org", "a wrong password")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            users
                .verify_password("nobody@example.org", PASSWORD)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            users
                .verify_password("not an email", PASSWORD)
                .await
                .unwrap(),
            None
        );

        set_enabled(&users, &a.id, false).await;
        assert_eq!(
            users
                .verify_password("a@example.org", PASSWORD)
                .await
                .unwrap(),
            None
        );
        set_enabled(&users, &a.id, true).await;

        assert!(matches!(
            users.set_password(&a.id, "too short").await,
            Err(DirectoryError::Invalid(_))
        ));
        users
            .set_password(&a.id, "another long password")
            .await
            .unwrap();
        assert_eq!(
            users
                .verify_password("a@example.org", PASSWORD)
                .await
                .unwrap(),
            None
        );
        assert!(
            users
                .verify_password("a@example.org", "another long password")
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
        let (_dir, users) = users();
        let a = users
            .create(new_user("a@example.org", Some(PASSWORD)))
            .await
            .unwrap();
        let first = users.issue_refresh(&a.id).await.unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&first).unwrap().len(), 32);
        let other = users.issue_refresh(&a.id).await.unwrap();

        let second = users
            .redeem_refresh(&first)
            .await
            .unwrap()
            .expect("a fresh token works");
        assert_eq!(second.user, a);
        assert_ne!(second.refresh_token, first);
        assert!(
            users.redeem_refresh(&first).await.unwrap().is_none(),
            "a spent token is refused"
        );
        assert!(
            users
                .redeem_refresh(&second.refresh_token)
                .await
                .unwrap()
                .is_none(),
            "and its family is revoked"
        );
        assert!(
            users.redeem_refresh(&other).await.unwrap().is_some(),
            "another sign-in is not affected"
        );
        assert!(users.redeem_refresh("made-up").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn disabling_or_deleting_ends_refresh() {
        let (_dir, users) = users();
        let a = users
            .create(new_user("a@example.org", Some(PASSWORD)))
            .await
            .unwrap();
        let token = users.issue_refresh(&a.id).await.unwrap();
        set_enabled(&users, &a.id, false).await;
        set_enabled(&users, &a.id, true).await;
        assert!(
            users.redeem_refresh(&token).await.unwrap().is_none(),
            "disabling revoked it for good"
        );

        let token = users.issue_refresh(&a.id).await.unwrap();
        users.delete(&a.id).await.unwrap();
        assert!(users.redeem_refresh(&token).await.unwrap().is_none());
        let left: i64 = users
            .db
            .call(|c| Ok(c.query_row("SELECT COUNT(*) FROM refresh_tokens", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(left, 0);
    }

    #[tokio::test]
    async fn totp_enrollment_and_replay() {
        let (_dir, users) = users();
        let a = users
            .create(new_user("a@example.org", Some(PASSWORD)))
            .await
            .unwrap();
        assert!(!users.totp_enabled(&a.id).await.unwrap());
        assert!(
            !users.check_totp(&a.id, "123456").await.unwrap(),
            "no secret, no code"
        );

        let enrollment = users.begin_totp(&a.id).await.unwrap().unwrap();
        assert!(
            enrollment
                .uri
                .starts_with("otpauth://totp/Ferry:a%40example.org?"),
            "{}",
            enrollment.uri
        );
        assert!(
            enrollment
                .uri
                .contains(&format!("secret={}", enrollment.secret))
        );
        assert!(enrollment.uri.contains("issuer=Ferry"));
        assert_eq!(
            users.pending_totp(&a.id).await.unwrap().unwrap().secret,
            enrollment.secret
        );
        assert!(
            !users.totp_enabled(&a.id).await.unwrap(),
            "not before a code confirms it"
        );
        assert!(!users.confirm_totp(&a.id, "000000x").await.unwrap());

        let now = unix_now_u64();
        let code = code_at(&enrollment.secret, "a@example.org", now);
        assert!(users.confirm_totp(&a.id, &code).await.unwrap());
        assert!(users.totp_enabled(&a.id).await.unwrap());
        assert!(users.pending_totp(&a.id).await.unwrap().is_none());
        assert!(
            !users.check_totp(&a.id, &code).await.unwrap(),
            "the confirming code is spent"
        );

        let next = code_at(&enrollment.secret, "a@example.org", now + TOTP_STEP);
        assert!(users.check_totp(&a.id, &next).await.unwrap());
        assert!(
            !users.check_totp(&a.id, &next).await.unwrap(),
            "a code works once"
        );
        let old = code_at(
            &enrollment.secret,
            "a@example.org",
            now.saturating_sub(10 * TOTP_STEP),
        );
        assert!(!users.check_totp(&a.id, &old).await.unwrap());
    }

    #[tokio::test]
    async fn many_wrong_codes_lock_totp_for_a_while() {
        let (_dir, users) = users();
        let a = users
            .create(new_user("a@example.org", Some(PASSWORD)))
            .await
            .unwrap();
        let enrollment = users.begin_totp(&a.id).await.unwrap().unwrap();
        let now = unix_now_u64();
        assert!(
            users
                .confirm_totp(&a.id, &code_at(&enrollment.secret, "a@example.org", now))
                .await
                .unwrap()
        );
        let right = code_at(&enrollment.secret, "a@example.org", now + TOTP_STEP);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        for _ in 0..TOTP_MAX_FAILURES {
            assert!(!users.check_totp(&a.id, wrong).await.unwrap());
        }
        assert!(
            !users.check_totp(&a.id, &right).await.unwrap(),
            "locked, even for the right code"
        );
    }

    #[test]
    fn password_rules() {
        assert!(password_problem("elevenchars").is_some());
        assert!(password_problem("twelve chars").is_none());
        assert!(
            password_problem("ééééééééééé").is_some(),
            "characters, not bytes"
        );
        assert!(password_problem(&"x".repeat(1024)).is_none());
        assert!(password_problem(&"x".repeat(1025)).is_some());
    }
}
