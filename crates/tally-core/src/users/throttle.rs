//! Repeated failed logins: after [`USER_LIMIT`] failures for one username or
//! [`ADDRESS_LIMIT`] from one address within [`WINDOW_MS`], further attempts are refused
//! without checking the password until the window has passed (DHIS2 locks accounts the
//! same way, for 15 minutes after 5 failures). Unknown usernames are counted like known
//! ones, so the lock says nothing about which accounts exist.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures per username before it is locked.
pub const USER_LIMIT: u32 = 5;
/// Failures per client address before it is locked.
pub const ADDRESS_LIMIT: u32 = 20;
/// How long failures count, and how long a lock lasts.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Entries kept before expired ones are pruned.
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first_ms: i64,
}

/// Failure counters per username and per address.
#[derive(Debug, Default)]
pub struct Throttle {
    counters: Mutex<HashMap<String, Failures>>,
}

fn keys(username: &str, address: Option<&str>) -> [(Option<String>, u32); 2] {
    [
        (Some(format!("u:{username}")), USER_LIMIT),
        (address.map(|a| format!("a:{a}")), ADDRESS_LIMIT),
    ]
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether attempts for this username or from this address are refused now.
    #[must_use]
    pub fn is_locked(&self, username: &str, address: Option<&str>, now_ms: i64) -> bool {
        let map = self.lock();
        keys(username, address).iter().any(|(key, limit)| {
            key.as_ref()
                .and_then(|k| map.get(k))
                .is_some_and(|f| f.count >= *limit && now_ms - f.first_ms < WINDOW_MS)
        })
    }

    /// Counts a failed attempt.
    pub fn failure(&self, username: &str, address: Option<&str>, now_ms: i64) {
        let mut map = self.lock();
        if map.len() >= PRUNE_AT {
            map.retain(|_, f| now_ms - f.first_ms < WINDOW_MS);
        }
        for (key, _) in keys(username, address) {
            let Some(key) = key else { continue };
            let f = map.entry(key).or_insert(Failures {
                count: 0,
                first_ms: now_ms,
            });
            if now_ms - f.first_ms >= WINDOW_MS {
                *f = Failures {
                    count: 0,
                    first_ms: now_ms,
                };
            }
            f.count += 1;
        }
    }

    /// A successful login clears the username's failures (not the address's).
    pub fn success(&self, username: &str) {
        self.lock().remove(&format!("u:{username}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_a_username_after_five_failures_for_the_window() {
        let t = Throttle::default();
        for i in 0..USER_LIMIT {
            assert!(!t.is_locked("admin", Some("10.0.0.1"), i64::from(i)));
            t.failure("admin", Some("10.0.0.1"), i64::from(i));
        }
        assert!(t.is_locked("admin", Some("10.0.0.2"), 10));
        assert!(t.is_locked("admin", None, 10));
        assert!(!t.is_locked("other", Some("10.0.0.1"), 10));
        assert!(!t.is_locked("admin", None, WINDOW_MS));
    }

    #[test]
    fn locks_an_address_trying_many_usernames() {
        let t = Throttle::default();
        for i in 0..ADDRESS_LIMIT {
            t.failure(&format!("user{i}"), Some("10.0.0.9"), 0);
        }
        assert!(t.is_locked("fresh", Some("10.0.0.9"), 1));
        assert!(!t.is_locked("fresh", Some("10.0.0.8"), 1));
    }

    #[test]
    fn success_clears_the_username() {
        let t = Throttle::default();
        for _ in 0..USER_LIMIT - 1 {
            t.failure("admin", None, 0);
        }
        t.success("admin");
        t.failure("admin", None, 0);
        assert!(!t.is_locked("admin", None, 0));
    }
}
