//! Users as the data APIs need them: who they are, what they may do, where.
//!
//! Users, user roles and user groups are stored as metadata objects (kinds `users`,
//! `userRoles`, `userGroups`) and loaded into a [`UserDirectory`], which verifies
//! credentials without paying bcrypt on every request. A user's authorities are the
//! union of its roles' authorities (and any listed on the user itself).
//!
//! * [`metadata`]: the DHIS2 JSON of users, roles and groups in `/api/metadata`.
//! * [`tokens`]: personal access tokens (`Authorization: ApiToken d2pat_…`).
//! * [`sessions`]: cookie sessions of `POST /api/auth/login`.
//! * [`throttle`]: repeated failed logins per user and per address.

pub mod metadata;
pub mod sessions;
pub mod throttle;
pub mod tokens;

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
    /// User roles (UIDs): where most authorities come from.
    #[serde(default)]
    pub user_roles: Vec<Uid>,
    /// User groups (UIDs).
    #[serde(default)]
    pub user_groups: Vec<Uid>,
}

impl UserRecord {
    /// A user with a name and a bcrypt hash and nothing else yet.
    #[must_use]
    pub fn new(id: Uid, username: &str, password_hash: String) -> Self {
        Self {
            id,
            username: username.to_owned(),
            first_name: String::new(),
            surname: String::new(),
            password_hash,
            disabled: false,
            authorities: Vec::new(),
            organisation_units: Vec::new(),
            data_view_organisation_units: Vec::new(),
            user_roles: Vec::new(),
            user_groups: Vec::new(),
        }
    }
}

/// A user role: a named set of authorities.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserRole {
    pub id: Uid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub authorities: Vec<String>,
}

/// A user group. Membership is held on the users ([`UserRecord::user_groups`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserGroup {
    pub id: Uid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Bcrypt cost of new password hashes (DHIS2 uses 10 as well).
pub const BCRYPT_COST: u32 = 10;

/// Hashes a new password.
///
/// # Errors
/// bcrypt refuses the input (e.g. a NUL byte).
pub fn hash_password(password: &str) -> Result<String, String> {
    bcrypt::hash(password, BCRYPT_COST).map_err(|e| e.to_string())
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

    /// Internal ids of the data capture org units (each covers its subtree); units the
    /// snapshot does not hold are left out.
    #[must_use]
    pub fn capture_roots(
        &self,
        snap: &tally_domain::metadata::Snapshot,
    ) -> Vec<tally_domain::metadata::OrgUnitId> {
        roots(snap, &self.capture_org_units)
    }

    /// Internal ids of the data view org units (see [`User::view_units`]).
    #[must_use]
    pub fn view_roots(
        &self,
        snap: &tally_domain::metadata::Snapshot,
    ) -> Vec<tally_domain::metadata::OrgUnitId> {
        roots(snap, self.view_units())
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

impl User {
    /// The user with its effective authorities: its own plus those of its roles, sorted
    /// and without duplicates.
    #[must_use]
    pub fn from_record(r: &UserRecord, roles: &HashMap<Uid, UserRole>) -> Self {
        let mut authorities: Vec<String> = r
            .authorities
            .iter()
            .chain(
                r.user_roles
                    .iter()
                    .filter_map(|id| roles.get(id))
                    .flat_map(|role| &role.authorities),
            )
            .cloned()
            .collect();
        authorities.sort();
        authorities.dedup();
        Self {
            uid: r.id,
            username: r.username.clone(),
            authorities,
            capture_org_units: r.organisation_units.clone(),
            view_org_units: r.data_view_organisation_units.clone(),
        }
    }
}

fn roots(
    snap: &tally_domain::metadata::Snapshot,
    units: &[Uid],
) -> Vec<tally_domain::metadata::OrgUnitId> {
    units
        .iter()
        .filter_map(|u| snap.org_unit_id(tally_domain::metadata::LookupScheme::Uid, u.as_str()))
        .collect()
}

/// The users, indexed by username, with a cache of verified credentials.
pub struct UserDirectory {
    by_name: HashMap<String, UserRecord>,
    by_id: HashMap<Uid, String>,
    roles: HashMap<Uid, UserRole>,
    groups: HashMap<Uid, UserGroup>,
    /// username → keyed hash of the last password that verified. bcrypt costs tens of
    /// milliseconds by design; paying it once per user, not per request, keeps the data
    /// APIs fast. The key is random per process and the hash never leaves memory.
    verified: Mutex<HashMap<String, u64>>,
    hasher: RandomState,
}

impl UserDirectory {
    /// A directory of users only (no roles: authorities as listed on the users).
    #[must_use]
    pub fn new(users: Vec<UserRecord>) -> Self {
        Self::with_roles(users, Vec::new(), Vec::new())
    }

    /// A directory of users, roles and groups.
    #[must_use]
    pub fn with_roles(
        users: Vec<UserRecord>,
        roles: Vec<UserRole>,
        groups: Vec<UserGroup>,
    ) -> Self {
        Self {
            by_id: users.iter().map(|u| (u.id, u.username.clone())).collect(),
            by_name: users.into_iter().map(|u| (u.username.clone(), u)).collect(),
            roles: roles.into_iter().map(|r| (r.id, r)).collect(),
            groups: groups.into_iter().map(|g| (g.id, g)).collect(),
            verified: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
        }
    }

    /// Every user record, by username.
    pub fn records(&self) -> impl Iterator<Item = &UserRecord> {
        self.by_name.values()
    }

    /// A user record by username.
    #[must_use]
    pub fn record(&self, username: &str) -> Option<&UserRecord> {
        self.by_name.get(username)
    }

    /// A user record by UID.
    #[must_use]
    pub fn record_by_id(&self, id: Uid) -> Option<&UserRecord> {
        self.by_id.get(&id).and_then(|name| self.by_name.get(name))
    }

    /// Every role.
    pub fn roles(&self) -> impl Iterator<Item = &UserRole> {
        self.roles.values()
    }

    /// A role by UID.
    #[must_use]
    pub fn role(&self, id: Uid) -> Option<&UserRole> {
        self.roles.get(&id)
    }

    /// Every group.
    pub fn groups(&self) -> impl Iterator<Item = &UserGroup> {
        self.groups.values()
    }

    /// A group by UID.
    #[must_use]
    pub fn group(&self, id: Uid) -> Option<&UserGroup> {
        self.groups.get(&id)
    }

    /// The active (not disabled) user with this UID, without credentials: for tokens and
    /// sessions, which were verified when they were issued.
    #[must_use]
    pub fn active_by_id(&self, id: Uid) -> Option<User> {
        self.record_by_id(id)
            .filter(|r| !r.disabled)
            .map(|r| User::from_record(r, &self.roles))
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
        Some(User::from_record(record, &self.roles))
    }

    /// A user by name, without credentials (for the CLI, which runs as a local admin).
    #[must_use]
    pub fn get(&self, username: &str) -> Option<User> {
        self.by_name
            .get(username)
            .map(|r| User::from_record(r, &self.roles))
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
        let mut r = UserRecord::new(
            Uid::parse("M5zQapPyTZI").unwrap(),
            "admin",
            bcrypt::hash("district", 4).unwrap(),
        );
        r.disabled = disabled;
        r.authorities = vec!["ALL".into()];
        r.organisation_units = vec![Uid::parse("ImspTQPwCqd").unwrap()];
        r
    }

    #[test]
    fn authorities_come_from_roles_and_the_user() {
        let role = UserRole {
            id: Uid::parse("yrB6vc5Ip3r").unwrap(),
            name: "Data entry".into(),
            code: None,
            description: String::new(),
            authorities: vec!["F_DATAVALUE_ADD".into(), "F_DATAVALUE_DELETE".into()],
        };
        let mut clerk = UserRecord::new(
            Uid::parse("xE7jOejl9FI").unwrap(),
            "clerk",
            bcrypt::hash("pw", 4).unwrap(),
        );
        clerk.user_roles = vec![role.id, Uid::parse("aaaaaaaaaaa").unwrap()];
        clerk.authorities = vec![
            "F_DATAVALUE_ADD".into(),
            "M_dhis-web-aggregate-data-entry".into(),
        ];
        let dir = UserDirectory::with_roles(vec![clerk], vec![role], Vec::new());
        let u = dir.authenticate("clerk", "pw").unwrap();
        assert_eq!(
            u.authorities,
            [
                "F_DATAVALUE_ADD",
                "F_DATAVALUE_DELETE",
                "M_dhis-web-aggregate-data-entry"
            ]
        );
        assert!(!u.is_super() && u.has("F_DATAVALUE_DELETE") && !u.has("F_EDIT_EXPIRED"));
        assert_eq!(dir.active_by_id(u.uid).unwrap(), u);
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
