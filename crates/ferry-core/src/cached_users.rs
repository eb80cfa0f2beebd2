//! A short-lived cache in front of a user directory, for the one lookup made on every request
//! (who is this caller, are they still enabled). Cognito answers that with calls whose quotas
//! are far below the API's request rate; a few seconds of reuse keeps them out of the way.
//!
//! The price is the revocation bound: a user disabled or deleted elsewhere keeps access for at
//! most `ttl` in each running process. Changes made through this cache take effect at once.

use crate::ids::UserId;
use crate::model::User;
use crate::ports::{DirectoryError, NewUser, UserDirectory, UserPatch};
use crate::values::EmailAddress;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Past this many callers the cache starts over: it must not grow without bound.
const MAX_ENTRIES: usize = 10_000;

pub struct CachedUsers {
    inner: Arc<dyn UserDirectory>,
    ttl: Duration,
    entries: Mutex<HashMap<UserId, (Instant, Option<User>)>>,
}

impl CachedUsers {
    pub fn new(inner: Arc<dyn UserDirectory>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, (Instant, Option<User>)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self, id: &UserId) {
        self.entries().remove(id);
    }
}

#[async_trait]
impl UserDirectory for CachedUsers {
    async fn get(&self, id: &UserId) -> anyhow::Result<Option<User>> {
        if let Some((at, user)) = self.entries().get(id)
            && at.elapsed() < self.ttl
        {
            return Ok(user.clone());
        }
        let user = self.inner.get(id).await?;
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id.clone(), (Instant::now(), user.clone()));
        Ok(user)
    }

    async fn find_by_email(&self, email: &EmailAddress) -> anyhow::Result<Option<User>> {
        self.inner.find_by_email(email).await
    }

    async fn list(&self) -> anyhow::Result<Vec<User>> {
        self.inner.list().await
    }

    async fn create(&self, user: NewUser) -> Result<User, DirectoryError> {
        let created = self.inner.create(user).await?;
        self.forget(&created.id);
        Ok(created)
    }

    async fn update(&self, id: &UserId, patch: UserPatch) -> Result<User, DirectoryError> {
        self.forget(id);
        let updated = self.inner.update(id, patch).await;
        self.forget(id);
        updated
    }

    async fn delete(&self, id: &UserId) -> Result<(), DirectoryError> {
        self.forget(id);
        let deleted = self.inner.delete(id).await;
        self.forget(id);
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryDirectory;
    use crate::values::Role;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts the lookups that reach the directory behind the cache.
    struct Counting {
        inner: MemoryDirectory,
        gets: AtomicUsize,
    }

    #[async_trait]
    impl UserDirectory for Counting {
        async fn get(&self, id: &UserId) -> anyhow::Result<Option<User>> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            self.inner.get(id).await
        }
        async fn find_by_email(&self, email: &EmailAddress) -> anyhow::Result<Option<User>> {
            self.inner.find_by_email(email).await
        }
        async fn list(&self) -> anyhow::Result<Vec<User>> {
            self.inner.list().await
        }
        async fn create(&self, user: NewUser) -> Result<User, DirectoryError> {
            self.inner.create(user).await
        }
        async fn update(&self, id: &UserId, patch: UserPatch) -> Result<User, DirectoryError> {
            self.inner.update(id, patch).await
        }
        async fn delete(&self, id: &UserId) -> Result<(), DirectoryError> {
            self.inner.delete(id).await
        }
    }

    fn setup(ttl: Duration) -> (Arc<Counting>, CachedUsers) {
        let counting = Arc::new(Counting {
            inner: MemoryDirectory::default(),
            gets: AtomicUsize::new(0),
        });
        let cached = CachedUsers::new(counting.clone(), ttl);
        (counting, cached)
    }

    async fn alice(users: &CachedUsers) -> User {
        users
            .create(NewUser {
                email: EmailAddress::parse("alice@example.org").unwrap(),
                name: "Alice".into(),
                roles: vec![Role::Member],
                password: None,
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn repeated_lookups_reach_the_directory_once_per_ttl() {
        let (counting, users) = setup(Duration::from_secs(60));
        let alice = alice(&users).await;
        for _ in 0..5 {
            assert_eq!(
                users.get(&alice.id).await.unwrap().unwrap().email,
                alice.email
            );
        }
        assert_eq!(counting.gets.load(Ordering::SeqCst), 1);

        let (counting, users) = setup(Duration::ZERO);
        let alice = self::alice(&users).await;
        users.get(&alice.id).await.unwrap();
        users.get(&alice.id).await.unwrap();
        assert_eq!(
            counting.gets.load(Ordering::SeqCst),
            2,
            "a zero ttl caches nothing"
        );
    }

    #[tokio::test]
    async fn changes_through_the_cache_take_effect_at_once() {
        let (_, users) = setup(Duration::from_secs(60));
        let alice = alice(&users).await;
        assert!(users.get(&alice.id).await.unwrap().unwrap().enabled);
        let patch = UserPatch {
            enabled: Some(false),
            ..UserPatch::default()
        };
        users.update(&alice.id, patch).await.unwrap();
        assert!(!users.get(&alice.id).await.unwrap().unwrap().enabled);
        users.delete(&alice.id).await.unwrap();
        assert!(users.get(&alice.id).await.unwrap().is_none());
    }
}
