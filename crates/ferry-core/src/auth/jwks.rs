//! The issuer's signing keys, cached. Keys are fetched when the cache is older than its TTL, or
//! when a token names a key we have not seen (the issuer rotated) — but at most once per
//! `min_refresh`, whether the last attempt worked or not, so a flood of tokens with random
//! `kid`s cannot make us hammer the issuer, not even while it is failing.

use async_trait::async_trait;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Where the keys come from: the issuer's `jwks_uri` over HTTPS, or ferry-local's own key.
#[async_trait]
pub trait JwksFetcher: Send + Sync {
    async fn fetch(&self) -> anyhow::Result<JwkSet>;
}

struct Cached {
    keys: JwkSet,
    fetched_at: Instant,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The last fetch, successful or not.
    attempted_at: Option<Instant>,
}

pub struct JwksCache {
    fetcher: Arc<dyn JwksFetcher>,
    ttl: Duration,
    min_refresh: Duration,
    state: Mutex<State>,
}

impl JwksCache {
    pub fn new(fetcher: Arc<dyn JwksFetcher>, ttl: Duration) -> Self {
        Self {
            fetcher,
            ttl,
            min_refresh: ttl.min(Duration::from_secs(10)),
            state: Mutex::new(State::default()),
        }
    }

    /// Fetches the issuer's keys ahead of the first token, e.g. while a function starts, so
    /// that the first request does not wait for them. Opportunistic: a failure is returned
    /// but not counted, and the first token that needs the keys asks again.
    pub async fn prefetch(&self) -> anyhow::Result<()> {
        let mut state = self.state.lock().await;
        if state.cached.is_some() {
            return Ok(());
        }
        let keys = self.fetcher.fetch().await?;
        let now = Instant::now();
        state.attempted_at = Some(now);
        state.cached = Some(Cached {
            keys,
            fetched_at: now,
        });
        Ok(())
    }

    /// The key with this `kid`; `Ok(None)` when the issuer does not have it.
    pub async fn key(&self, kid: &str) -> anyhow::Result<Option<Jwk>> {
        // One lock for lookup and refresh: concurrent misses wait for one fetch, not many.
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let stale = state
            .cached
            .as_ref()
            .is_none_or(|c| now.duration_since(c.fetched_at) >= self.ttl);
        let known = state
            .cached
            .as_ref()
            .and_then(|c| c.keys.find(kid).cloned());
        if known.is_some() && !stale {
            return Ok(known);
        }
        // A failed fetch counts too: an issuer in trouble is not asked again on every request.
        let may_refresh = state
            .attempted_at
            .is_none_or(|at| now.duration_since(at) >= self.min_refresh);
        if !may_refresh {
            return match state.cached {
                Some(_) => Ok(known),
                None => Err(anyhow::anyhow!(
                    "the issuer's keys could not be fetched; the next attempt is due shortly"
                )),
            };
        }
        state.attempted_at = Some(now);
        match self.fetcher.fetch().await {
            Ok(keys) => {
                let found = keys.find(kid).cloned();
                state.cached = Some(Cached {
                    keys,
                    fetched_at: now,
                });
                Ok(found)
            }
            // An issuer hiccup must not lock everyone out while we still hold its last keys.
            Err(e) if known.is_some() => {
                tracing::warn!(error = %e, "refreshing the issuer's keys failed; using the cached ones");
                Ok(known)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        calls: AtomicUsize,
        keys: JwkSet,
    }

    #[async_trait]
    impl JwksFetcher for Counting {
        async fn fetch(&self) -> anyhow::Result<JwkSet> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(self.keys.clone())
        }
    }

    fn set(kid: &str) -> JwkSet {
        serde_json::from_value(serde_json::json!({ "keys": [{
            "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"
        }] }))
        .unwrap()
    }

    #[tokio::test]
    async fn unknown_kids_refresh_at_most_once_per_interval() {
        let fetcher = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            keys: set("k1"),
        });
        let cache = JwksCache::new(fetcher.clone(), Duration::from_secs(300));
        assert!(cache.key("k1").await.unwrap().is_some());
        for i in 0..100 {
            assert!(cache.key(&format!("random-{i}")).await.unwrap().is_none());
        }
        assert_eq!(
            fetcher.calls.load(Ordering::SeqCst),
            1,
            "a flood of unknown kids does not refetch"
        );
        assert!(cache.key("k1").await.unwrap().is_some());
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
    }

    /// Answers with `keys` on the first call, fails on every later one.
    struct FailsAfterFirst {
        calls: AtomicUsize,
        keys: Option<JwkSet>,
    }

    #[async_trait]
    impl JwksFetcher for FailsAfterFirst {
        async fn fetch(&self) -> anyhow::Result<JwkSet> {
            match (self.calls.fetch_add(1, Ordering::SeqCst), &self.keys) {
                (0, Some(keys)) => Ok(keys.clone()),
                _ => Err(anyhow::anyhow!("the issuer is down")),
            }
        }
    }

    #[tokio::test]
    async fn a_failing_issuer_is_asked_at_most_once_per_interval() {
        // Never reached: the first failure holds back the next attempts.
        let fetcher = Arc::new(FailsAfterFirst {
            calls: AtomicUsize::new(0),
            keys: None,
        });
        let cache = JwksCache::new(fetcher.clone(), Duration::from_secs(300));
        for i in 0..100 {
            assert!(cache.key(&format!("random-{i}")).await.is_err());
        }
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);

        // Reached once, then down: unknown kids are refused from the cache, one retry per
        // interval, and the known key keeps working throughout.
        let fetcher = Arc::new(FailsAfterFirst {
            calls: AtomicUsize::new(0),
            keys: Some(set("k1")),
        });
        let mut cache = JwksCache::new(fetcher.clone(), Duration::from_secs(300));
        cache.ttl = Duration::ZERO;
        assert!(cache.key("k1").await.unwrap().is_some());
        // As if the interval had passed.
        cache.state.lock().await.attempted_at = None;
        assert!(cache.key("random-0").await.is_err(), "the one retry fails");
        for i in 1..100 {
            assert!(cache.key(&format!("random-{i}")).await.unwrap().is_none());
            assert!(cache.key("k1").await.unwrap().is_some());
        }
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_expired_cache_is_refetched() {
        let fetcher = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            keys: set("k1"),
        });
        let cache = JwksCache::new(fetcher.clone(), Duration::ZERO);
        cache.key("k1").await.unwrap();
        cache.key("k1").await.unwrap();
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn prefetched_keys_serve_the_first_token_and_a_failed_prefetch_holds_nothing_back() {
        let fetcher = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            keys: set("k1"),
        });
        let cache = JwksCache::new(fetcher.clone(), Duration::from_secs(300));
        cache.prefetch().await.unwrap();
        cache.prefetch().await.unwrap();
        assert!(cache.key("k1").await.unwrap().is_some());
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);

        let fetcher = Arc::new(FailsAfterFirst {
            calls: AtomicUsize::new(1),
            keys: None,
        });
        let cache = JwksCache::new(fetcher.clone(), Duration::from_secs(300));
        assert!(cache.prefetch().await.is_err());
        // The first token still asks the issuer, not held back by the failed prefetch.
        assert!(cache.key("k1").await.is_err());
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 3);
    }
}
