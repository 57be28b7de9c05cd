//! Users as the data APIs need them: who they are, what they may do, where.
//!
//! The full user model (roles, groups, tokens, sessions) is a separate piece of work;
//! here users are metadata objects of kind `users` with a bcrypt password hash, and a
//! directory that verifies Basic credentials without paying bcrypt on every request.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tally_domain::uid::Uid;

/// A stored user (the JSON body of a `users` metadata object).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    pub id: Uid,
    pub username: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub surname: String,
    /// bcrypt hash (DHIS2 exports keep the same format).
    pub password_hash: String,
    #[serde(default)]
    pub disabled: bool,
    /// Authorities such as `ALL`, `F_DATAVALUE_ADD`, `F_SKIP_DATA_IMPORT_AUDIT`.
    #[serde(default)]
    pub authorities: Vec<String>,
    /// Data capture org units (UIDs); each covers its subtree.
    #[serde(default)]
    pub organisation_units: Vec<Uid>,
    /// Data view org units (UIDs); empty means the capture units.
    #[serde(default)]
    pub data_view_organisation_units: Vec<Uid>,
}

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: Uid,
    pub username: String,
    pub authorities: Vec<String>,
    pub capture_org_units: Vec<Uid>,
    pub view_org_units: Vec<Uid>,
}

impl User {
    /// Has the authority (or `ALL`).
    #[must_use]
    pub fn has(&self, authority: &str) -> bool {
        self.authorities
            .iter()
            .any(|a| a == "ALL" || a == authority)
    }

    /// Superusers hold `ALL`.
    #[must_use]
    pub fn is_super(&self) -> bool {
        self.authorities.iter().any(|a| a == "ALL")
    }

    /// Data view org units, falling back to the capture units as DHIS2 does.
    #[must_use]
    pub fn view_units(&self) -> &[Uid] {
        if self.view_org_units.is_empty() {
            &self.capture_org_units
        } else {
            &self.view_org_units
        }
    }
}

impl From<&UserRecord> for User {
    fn from(r: &UserRecord) -> Self {
        Self {
            uid: r.id,
            username: r.username.clone(),
            authorities: r.authorities.clone(),
            capture_org_units: r.organisation_units.clone(),
            view_org_units: r.data_view_organisation_units.clone(),
        }
    }
}

/// The users, indexed by username, with a cache of verified credentials.
pub struct UserDirectory {
    by_name: HashMap<String, UserRecord>,
    /// username → keyed hash of the last password that verified. bcrypt costs tens of
    /// milliseconds by design; paying it once per user, not per request, keeps the data
    /// APIs fast. The key is random per process and the hash never leaves memory.
    verified: Mutex<HashMap<String, u64>>,
    hasher: RandomState,
}

impl UserDirectory {
    #[must_use]
    pub fn new(users: Vec<UserRecord>) -> Self {
        Self {
            by_name: users.into_iter().map(|u| (u.username.clone(), u)).collect(),
            verified: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
        }
    }

    /// Checks a username and password. `None` for unknown users, wrong passwords and
    /// disabled accounts alike, so callers cannot tell them apart.
    #[must_use]
    pub fn authenticate(&self, username: &str, password: &str) -> Option<User> {
        let record = self.by_name.get(username)?;
        if record.disabled {
            return None;
        }
        let fingerprint = self.hasher.hash_one(password);
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(username)
            .copied();
        if cached != Some(fingerprint) {
            if !bcrypt::verify(password, &record.password_hash).unwrap_or(false) {
                return None;
            }
            self.verified
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(username.to_owned(), fingerprint);
        }
        Some(User::from(record))
    }

    /// A user by name, without credentials (for the CLI, which runs as a local admin).
    #[must_use]
    pub fn get(&self, username: &str) -> Option<User> {
        self.by_name.get(username).map(User::from)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Shared handle.
pub type Users = Arc<UserDirectory>;

#[cfg(test)]
mod tests {
    use super::*;

    fn record(disabled: bool) -> UserRecord {
        UserRecord {
            id: Uid::parse("M5zQapPyTZI").unwrap(),
            username: "admin".into(),
            first_name: "John".into(),
            surname: "Traore".into(),
            password_hash: bcrypt::hash("district", 4).unwrap(),
            disabled,
            authorities: vec!["ALL".into()],
            organisation_units: vec![Uid::parse("ImspTQPwCqd").unwrap()],
            data_view_organisation_units: vec![],
        }
    }

    #[test]
    fn verifies_passwords_and_caches_only_successes() {
        let dir = UserDirectory::new(vec![record(false)]);
        assert!(dir.authenticate("admin", "district").is_some());
        assert!(
            dir.authenticate("admin", "district").is_some(),
            "cached path"
        );
        assert!(dir.authenticate("admin", "wrong").is_none());
        assert!(dir.authenticate("nobody", "district").is_none());
        let u = dir.authenticate("admin", "district").unwrap();
        assert!(u.is_super() && u.has("F_DATAVALUE_ADD"));
        assert_eq!(u.view_units(), u.capture_org_units.as_slice());
    }

    #[test]
    fn disabled_users_cannot_log_in() {
        let dir = UserDirectory::new(vec![record(true)]);
        assert!(dir.authenticate("admin", "district").is_none());
    }
}
