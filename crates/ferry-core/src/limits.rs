//! Rate limits on the actions an attacker would repeat: signing in, asking for and trying codes,
//! creating transfers, downloading. Each action is counted per client address and per account,
//! separately, so neither many addresses against one account nor one address against many
//! accounts gets further than the quota.
//!
//! ferry-local counts in process ([`InProcessLimits`]). On AWS, API Gateway's throttling and the
//! per-link counters kept on each transfer do this job, so the functions install no limiter.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

/// An action whose attempts are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    SignIn,
    RequestCode,
    VerifyCode,
    CreateTransfer,
    Download,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Self::SignIn,
        Self::RequestCode,
        Self::VerifyCode,
        Self::CreateTransfer,
        Self::Download,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::RequestCode => "request-code",
            Self::VerifyCode => "verify-code",
            Self::CreateTransfer => "create-transfer",
            Self::Download => "download",
        }
    }

    /// What a person is told they did too often.
    fn described(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in attempts",
            Self::RequestCode => "code requests",
            Self::VerifyCode => "code attempts",
            Self::CreateTransfer => "new transfers",
            Self::Download => "downloads",
        }
    }
}

/// Who is counted: the client's address, or the account acted on (a user id, an email).
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    Ip(&'a str),
    Account(&'a str),
}

/// Refused: over the limit until `retry_after` has passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limited {
    pub action: Action,
    pub retry_after: Duration,
}

impl fmt::Display for Limited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "too many {} in a short time; try again in {} s",
            self.action.described(),
            self.retry_after.as_secs().max(1)
        )
    }
}

impl From<Limited> for crate::Error {
    fn from(limited: Limited) -> Self {
        crate::Error::TooManyRequests {
            detail: limited.to_string(),
            retry_after: limited.retry_after,
        }
    }
}

pub trait RateLimiter: Send + Sync {
    /// Counts one attempt of `action` by `subject`; refused once the subject is over its quota.
    fn check(&self, action: Action, subject: Subject<'_>) -> Result<(), Limited>;
}

/// How many attempts of an action, per how long: `count` may come at once, then they come
/// back evenly over `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: NonZeroU32,
    pub period: Duration,
}

impl Rate {
    pub fn per_minute(count: u32) -> Self {
        Self {
            count: NonZeroU32::new(count.max(1)).unwrap_or(NonZeroU32::MIN),
            period: Duration::from_secs(60),
        }
    }

    /// `20/min`, `5/hour`, `100/10s`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (count, period) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}': write a rate as COUNT/PERIOD, e.g. 20/min"))?;
        let count = count
            .trim()
            .parse::<u32>()
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| format!("'{text}': the count must be a whole number above 0"))?;
        let period = match period.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => other
                .strip_suffix('s')
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|n| *n > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    format!(
                        "'{text}': the period must be s, min, hour or a number of seconds like 30s"
                    )
                })?,
        };
        Ok(Self { count, period })
    }

    fn quota(self) -> Quota {
        // The period is at least a second and the count at least 1, so the interval is never 0.
        let interval = self.period / self.count.get();
        Quota::with_period(interval.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(self.count)
    }
}

/// The quota of each action; the same quota applies to each address and to each account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub rates: BTreeMap<Action, Rate>,
}

impl Default for RateLimits {
    /// Generous for people, tight for scripts that guess: a person signs in a few times an hour,
    /// a guessing script thousands of times a minute.
    fn default() -> Self {
        Self {
            rates: BTreeMap::from([
                (Action::SignIn, Rate::per_minute(20)),
                (Action::RequestCode, Rate::per_minute(20)),
                (Action::VerifyCode, Rate::per_minute(30)),
                (Action::CreateTransfer, Rate::per_minute(60)),
                (Action::Download, Rate::per_minute(600)),
            ]),
        }
    }
}

impl RateLimits {
    /// Changes the defaults with `action=rate` pairs, e.g. `sign-in=5/min,download=100/min`.
    pub fn with_overrides(mut self, spec: &str) -> Result<Self, String> {
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, rate) = pair
                .split_once('=')
                .ok_or_else(|| format!("'{pair}': write ACTION=COUNT/PERIOD"))?;
            let action = Action::ALL
                .into_iter()
                .find(|a| a.name() == name.trim())
                .ok_or_else(|| {
                    let names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
                    format!("'{name}': the actions are {}", names.join(", "))
                })?;
            self.rates.insert(action, Rate::parse(rate)?);
        }
        Ok(self)
    }
}

/// Past this many remembered subjects, those whose quota is full again are forgotten: an
/// attacker cycling addresses must not grow memory without bound.
const FORGET_ABOVE: usize = 100_000;

/// Counts in this process, by GCRA (no timers, one timestamp per subject).
pub struct InProcessLimits {
    limiters: BTreeMap<Action, DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl InProcessLimits {
    pub fn new(limits: &RateLimits) -> Self {
        let clock = DefaultClock::default();
        Self {
            limiters: limits
                .rates
                .iter()
                .map(|(action, rate)| (*action, DefaultKeyedRateLimiter::keyed(rate.quota())))
                .collect(),
            clock,
        }
    }
}

impl RateLimiter for InProcessLimits {
    fn check(&self, action: Action, subject: Subject<'_>) -> Result<(), Limited> {
        let Some(limiter) = self.limiters.get(&action) else {
            return Ok(());
        };
        let key = match subject {
            Subject::Ip(ip) => format!("ip:{ip}"),
            // Emails differ in case only by accident; one account is one key.
            Subject::Account(account) => format!("account:{}", account.to_lowercase()),
        };
        if limiter.len() > FORGET_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(&key).map_err(|not_until| Limited {
            action,
            retry_after: not_until.wait_time_from(self.clock.now()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(spec: &str) -> InProcessLimits {
        InProcessLimits::new(&RateLimits::default().with_overrides(spec).unwrap())
    }

    #[test]
    fn the_quota_is_counted_per_subject_and_per_action() {
        let limits = limits("sign-in=3/hour");
        for _ in 0..3 {
            limits
                .check(Action::SignIn, Subject::Ip("192.0.2.1"))
                .unwrap();
        }
        let refused = limits
            .check(Action::SignIn, Subject::Ip("192.0.2.1"))
            .unwrap_err();
        assert_eq!(refused.action, Action::SignIn);
        // One attempt comes back every 20 minutes.
        assert!(refused.retry_after > Duration::from_secs(19 * 60));
        assert!(refused.retry_after <= Duration::from_secs(20 * 60));
        assert!(refused.to_string().contains("sign-in attempts"));

        // Another address, the same address as an account key, another action: all untouched.
        limits
            .check(Action::SignIn, Subject::Ip("192.0.2.2"))
            .unwrap();
        limits
            .check(Action::SignIn, Subject::Account("192.0.2.1"))
            .unwrap();
        limits
            .check(Action::Download, Subject::Ip("192.0.2.1"))
            .unwrap();
    }

    #[test]
    fn accounts_are_one_key_whatever_the_case() {
        let limits = limits("request-code=1/min");
        limits
            .check(Action::RequestCode, Subject::Account("Bob@Example.org"))
            .unwrap();
        assert!(
            limits
                .check(Action::RequestCode, Subject::Account("bob@example.org"))
                .is_err()
        );
    }

    #[test]
    fn a_refusal_becomes_429_with_retry_after() {
        let limits = limits("download=1/min");
        limits.check(Action::Download, Subject::Ip("::1")).unwrap();
        let error: crate::Error = limits
            .check(Action::Download, Subject::Ip("::1"))
            .unwrap_err()
            .into();
        match error {
            crate::Error::TooManyRequests {
                detail,
                retry_after,
            } => {
                assert!(detail.starts_with("too many downloads"), "{detail}");
                assert!(retry_after > Duration::from_secs(50));
            }
            other => panic!("expected TooManyRequests, got {other:?}"),
        }
    }

    #[test]
    fn rates_parse_and_bad_ones_are_explained() {
        assert_eq!(
            Rate::parse("5/hour").unwrap(),
            Rate {
                count: NonZeroU32::new(5).unwrap(),
                period: Duration::from_secs(3600)
            }
        );
        assert_eq!(
            Rate::parse("100/30s").unwrap().period,
            Duration::from_secs(30)
        );
        for bad in ["5", "0/min", "x/min", "5/fortnight", "5/0s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
        let err = RateLimits::default()
            .with_overrides("login=5/min")
            .unwrap_err();
        assert!(err.contains("sign-in"), "{err}");
    }
}
