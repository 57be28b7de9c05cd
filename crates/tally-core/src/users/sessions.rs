//! Cookie sessions (`POST /api/auth/login`): random ids, kept as SHA-256 digests in
//! memory, expiring after an idle period as DHIS2's do (one hour by default).

use std::collections::HashMap;
use std::sync::Mutex;

use rand::Rng as _;
use tally_domain::uid::Uid;

use super::tokens::digest;

/// Idle time after which a session ends.
pub const IDLE_MS: i64 = 60 * 60 * 1000;
/// Most sessions kept; beyond it the least recently used one is dropped.
const MAX_SESSIONS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Session {
    user: Uid,
    last_seen_ms: i64,
}

/// The live sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    by_digest: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.by_digest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session for `user` and returns its id (the cookie value).
    #[must_use]
    pub fn create(&self, user: Uid, now_ms: i64) -> String {
        let mut rng = rand::rng();
        let id: String = (0..32)
            .map(|_| format!("{:02X}", rng.random::<u8>()))
            .collect();
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| now_ms - s.last_seen_ms < IDLE_MS);
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, s)| s.last_seen_ms)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            digest(&id),
            Session {
                user,
                last_seen_ms: now_ms,
            },
        );
        id
    }

    /// The user of a live session, refreshing its idle timer.
    #[must_use]
    pub fn user(&self, id: &str, now_ms: i64) -> Option<Uid> {
        let key = digest(id);
        let mut map = self.lock();
        let session = map.get_mut(&key)?;
        if now_ms - session.last_seen_ms >= IDLE_MS {
            map.remove(&key);
            return None;
        }
        session.last_seen_ms = now_ms;
        Some(session.user)
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.lock().remove(&digest(id));
    }

    /// Ends every session of a user (password change, disabling).
    pub fn remove_user(&self, user: Uid) {
        self.lock().retain(|_, s| s.user != user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_live_until_idle_or_removed() {
        let s = Sessions::default();
        let u = Uid::parse("xE7jOejl9FI").unwrap();
        let id = s.create(u, 0);
        assert_eq!(id.len(), 64);
        assert_eq!(s.user(&id, IDLE_MS - 1), Some(u));
        // Refreshed: idle counts from the last use.
        assert_eq!(s.user(&id, 2 * IDLE_MS - 2), Some(u));
        assert_eq!(s.user(&id, 3 * IDLE_MS), None);
        let id = s.create(u, 0);
        s.remove(&id);
        assert_eq!(s.user(&id, 1), None);
        let id = s.create(u, 0);
        s.remove_user(u);
        assert_eq!(s.user(&id, 1), None);
        assert_eq!(s.user("nonsense", 1), None);
    }
}
