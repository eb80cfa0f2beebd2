//! `--limit-rate`: an upper bound on the bytes per second sent, shared by every part in flight,
//! so that a transfer in office hours leaves the link usable for everyone else.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

pub struct Throttle {
    bytes_per_second: u64,
    /// When sending started, and how much has been let through since.
    sent: Mutex<(Instant, u64)>,
}

impl Throttle {
    pub fn new(bytes_per_second: u64) -> Self {
        Self {
            bytes_per_second: bytes_per_second.max(1),
            sent: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Counts `bytes` and waits until sending them keeps the average within the limit.
    pub async fn admit(&self, bytes: u64) {
        let wait = {
            let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
            sent.1 += bytes;
            let due = Duration::from_secs_f64(sent.1 as f64 / self.bytes_per_second as f64);
            due.saturating_sub(sent.0.elapsed())
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// `500K`, `8M`, `1G` (powers of 1024) or plain bytes.
pub fn parse_rate(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let (digits, unit) = match raw.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => raw.split_at(i),
        None => (raw, ""),
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{raw}' is not a rate such as 500K, 8M or 1G"))?;
    let factor = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("'{raw}': the unit is K, M or G")),
    };
    match number.checked_mul(factor) {
        Some(0) | None => Err(format!("'{raw}' is not a usable rate")),
        Some(rate) => Ok(rate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_like_curls() {
        assert_eq!(parse_rate("500K"), Ok(500 * 1024));
        assert_eq!(parse_rate("8M"), Ok(8 << 20));
        assert_eq!(parse_rate("1g"), Ok(1 << 30));
        assert_eq!(parse_rate("4096"), Ok(4096));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("5X").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_average_stays_within_the_limit() {
        let throttle = Throttle::new(1000);
        let started = tokio::time::Instant::now();
        for _ in 0..4 {
            throttle.admit(500).await;
        }
        // 2000 bytes at 1000 B/s: two seconds of (paused, simulated) time, no more.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(1990), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(2100), "{elapsed:?}");
    }
}
