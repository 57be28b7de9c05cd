//! Cookie sessions (`POST /api/auth/login`): random ids, kept as SHA-256 digests in
//! memory, expiring after an idle period as DHIS2's do (one hour by default). With a
//! store shared by several processes (PostgreSQL) they are kept in the database
//! instead, so a session made through one process works through every other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tally_store::SessionRecord;

use crate::app::Store;

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

/// How stale a stored session's `last_seen` may get before a use writes it again
/// (saves a write per request; small next to the idle time).
const TOUCH_MS: i64 = 60 * 1000;

/// The live sessions.
#[derive(Default)]
pub struct Sessions {
    by_digest: Mutex<HashMap<String, Session>>,
    /// The store keeping the sessions, when it does (see the module docs).
    shared: Option<Arc<dyn Store>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

fn logged<T>(r: tally_store::Result<T>) -> Option<T> {
    r.map_err(|e| tracing::error!(error = %e, "session storage failed"))
        .ok()
}

impl Sessions {
    /// Sessions in `store` when it keeps them, else in memory.
    #[must_use]
    pub fn for_store(store: &Arc<dyn Store>) -> Self {
        Self {
            by_digest: Mutex::default(),
            shared: store.stores_sessions().then(|| Arc::clone(store)),
        }
    }

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
        if let Some(store) = &self.shared {
            logged(store.delete_sessions(None, now_ms - IDLE_MS));
            logged(store.save_session(&SessionRecord {
                digest: digest(&id),
                user: user.to_string(),
                last_seen_ms: now_ms,
            }));
            return id;
        }
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
        if let Some(store) = &self.shared {
            let mut s = logged(store.session(&key))??;
            if now_ms - s.last_seen_ms >= IDLE_MS {
                logged(store.delete_session(&key));
                return None;
            }
            let user = Uid::parse(&s.user).ok()?;
            if now_ms - s.last_seen_ms >= TOUCH_MS {
                s.last_seen_ms = now_ms;
                logged(store.save_session(&s));
            }
            return Some(user);
        }
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
        if let Some(store) = &self.shared {
            logged(store.delete_session(&digest(id)));
            return;
        }
        self.lock().remove(&digest(id));
    }

    /// Ends every session of a user (password change, disabling).
    pub fn remove_user(&self, user: Uid) {
        if let Some(store) = &self.shared {
            logged(store.delete_sessions(Some(user.as_str()), i64::MIN));
            return;
        }
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
