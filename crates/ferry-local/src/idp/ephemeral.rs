//! Short-lived server-side state (authorization codes, login tickets, account sessions), keyed
//! by random opaque handles. Bounded in time and in size: a flood of entries can push out the
//! oldest ones but never grow memory without limit.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct Entry<V> {
    expires: Instant,
    value: V,
}

pub(super) struct Ephemeral<V> {
    ttl: Duration,
    cap: usize,
    entries: Mutex<HashMap<String, Entry<V>>>,
}

/// 256 random bits, base64url: unguessable, and safe in a URL, a form field and a cookie.
pub(super) fn random_handle() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl<V: Clone> Ephemeral<V> {
    pub(super) fn new(ttl: Duration, cap: usize) -> Self {
        Self {
            ttl,
            cap: cap.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `value` under a new random handle and returns the handle.
    pub(super) fn insert(&self, value: V) -> String {
        let handle = random_handle();
        let now = Instant::now();
        let mut entries = self.lock();
        entries.retain(|_, e| e.expires > now);
        while entries.len() >= self.cap {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(key) => entries.remove(&key),
                None => break,
            };
        }
        entries.insert(
            handle.clone(),
            Entry {
                expires: now + self.ttl,
                value,
            },
        );
        handle
    }

    pub(super) fn get(&self, handle: &str) -> Option<V> {
        self.update(handle, |v| v.clone())
    }

    /// Removes the entry and returns it if it was still alive: a single use.
    pub(super) fn take(&self, handle: &str) -> Option<V> {
        let entry = self.lock().remove(handle)?;
        (entry.expires > Instant::now()).then_some(entry.value)
    }

    /// Runs `f` on a live entry, under the lock, so read-modify-write is atomic.
    pub(super) fn update<R>(&self, handle: &str, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let mut entries = self.lock();
        let alive = entries
            .get(handle)
            .is_some_and(|e| e.expires > Instant::now());
        if !alive {
            entries.remove(handle);
            return None;
        }
        entries.get_mut(handle).map(|e| f(&mut e.value))
    }

    pub(super) fn remove(&self, handle: &str) {
        self.lock().remove(handle);
    }

    /// Keeps only the entries for which `keep(handle, value)` holds.
    pub(super) fn retain(&self, mut keep: impl FnMut(&str, &V) -> bool) {
        self.lock().retain(|k, e| keep(k, &e.value));
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_are_single_use_and_bounded() {
        let map = Ephemeral::new(Duration::from_secs(60), 3);
        let a = map.insert(1);
        assert_eq!(map.get(&a), Some(1));
        assert_eq!(
            map.update(&a, |v| {
                *v += 1;
                *v
            }),
            Some(2)
        );
        assert_eq!(map.take(&a), Some(2));
        assert_eq!(map.take(&a), None);
        for i in 0..10 {
            map.insert(i);
        }
        assert_eq!(map.len(), 3);

        let expired = Ephemeral::new(Duration::ZERO, 3);
        let b = expired.insert("x");
        assert_eq!(expired.get(&b), None);
        assert_eq!(expired.take(&b), None);
    }
}
