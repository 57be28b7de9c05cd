//! Users, user roles and user groups in a DHIS2 metadata document (`/api/metadata`).
//!
//! DHIS2 2.41 writes users flat (`username`, `userRoles`, `disabled` on the user) and older
//! exports nest them in `userCredentials`; both are read. A `password` is hashed with
//! bcrypt; a user updated without one keeps its hash (DHIS2 exports carry no passwords, so
//! users moved between servers need `tally user passwd`). Group membership may be given on
//! the group (`users`) or on the user (`userGroups`).
//!
//! Checks, each refusing the whole import as the rest of the metadata merge does:
//! required `name`/`username` (E4000), references to roles, groups and org units that
//! exist in the document or the server (E5002), usernames unique (E5003).

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use tally_domain::metadata::{ErrorCode, ErrorReport, ObjectReport, Stats, TypeReport};
use tally_domain::uid::Uid;

use super::{UserDirectory, UserGroup, UserRecord, UserRole, hash_password};

const USER: &str = "org.hisp.dhis.user.User";
const ROLE: &str = "org.hisp.dhis.user.UserRole";
const GROUP: &str = "org.hisp.dhis.user.UserGroup";
const ORG_UNIT: &str = "org.hisp.dhis.organisationunit.OrganisationUnit";

/// What a document changes in users, roles and groups.
#[derive(Debug, Default)]
pub struct AccessChanges {
    pub users: Vec<UserRecord>,
    pub roles: Vec<UserRole>,
    pub groups: Vec<UserGroup>,
    /// One report per type present in the document (User, UserRole, UserGroup order as
    /// DHIS2 processes them: roles and groups before users).
    pub type_reports: Vec<TypeReport>,
}

impl AccessChanges {
    /// Whether the document had any users, roles or groups.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.type_reports.is_empty()
    }

    /// Whether any check failed.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.type_reports
            .iter()
            .any(|t| t.object_reports.iter().any(|o| !o.error_reports.is_empty()))
    }
}

fn array<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    doc.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A property of a user, flat (2.41) or in `userCredentials` (older exports).
fn user_prop<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key)
        .filter(|x| !x.is_null())
        .or_else(|| v.get("userCredentials").and_then(|c| c.get(key)))
        .filter(|x| !x.is_null())
}

fn refs(v: Option<&Value>) -> Result<Vec<Uid>, String> {
    let Some(items) = v.and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str))
        .map(|id| Uid::parse(id).map_err(|e| format!("{id}: {e}")))
        .collect()
}

fn id_of(v: &Value, generate: &mut dyn FnMut() -> Uid) -> Result<Uid, String> {
    match text(v, "id") {
        Some(id) => Uid::parse(id).map_err(|e| format!("{id}: {e}")),
        None => Ok(generate()),
    }
}

struct Reports {
    klass: &'static str,
    stats: Stats,
    objects: Vec<ObjectReport>,
}

impl Reports {
    fn new(klass: &'static str) -> Self {
        Self {
            klass,
            stats: Stats::default(),
            objects: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn error(
        &mut self,
        index: usize,
        uid: Uid,
        code: ErrorCode,
        message: String,
        error_klass: Option<&'static str>,
        property: &str,
        args: Vec<String>,
    ) {
        let report = ErrorReport {
            message,
            main_klass: self.klass,
            error_klass,
            error_code: code,
            error_property: Some(property.to_owned()),
            error_properties: args,
            main_id: Some(uid),
        };
        match self.objects.iter_mut().find(|o| o.index == index) {
            Some(o) => o.error_reports.push(report),
            None => self.objects.push(ObjectReport {
                klass: self.klass,
                index,
                uid: Some(uid),
                display_name: None,
                error_reports: vec![report],
            }),
        }
    }

    /// A required property is missing: the object is reported and counted (as ignored
    /// by [`Reports::finish`]).
    fn missing(&mut self, index: usize, uid: Uid, property: &str) {
        self.stats.total += 1;
        self.error(
            index,
            uid,
            ErrorCode::E4000,
            format!("Missing required property `{property}`."),
            None,
            property,
            vec![property.to_owned()],
        );
    }

    fn count(&mut self, existed: bool) {
        if existed {
            self.stats.updated += 1;
        } else {
            self.stats.created += 1;
        }
        self.stats.total += 1;
    }

    fn finish(mut self, failed: bool) -> TypeReport {
        if failed {
            // Atomic: nothing is imported, everything counts as ignored.
            self.stats.ignored = self.stats.total;
            self.stats.created = 0;
            self.stats.updated = 0;
        }
        TypeReport {
            klass: self.klass,
            stats: self.stats,
            object_reports: self.objects,
        }
    }
}

fn simple(klass: &str) -> &str {
    klass.rsplit('.').next().unwrap_or(klass)
}

fn reference(klass: &'static str, target: Uid) -> String {
    format!("[{target}] ({})", simple(klass))
}

/// Reads the users, roles and groups of `doc` and merges them over `current`.
/// `org_unit_exists` answers for the org units after the rest of the document is merged.
///
/// # Errors
/// A malformed UID or a password bcrypt refuses (a bad request, not a report).
pub fn merge_access(
    doc: &Value,
    current: &UserDirectory,
    org_unit_exists: &dyn Fn(Uid) -> bool,
    generate: &mut dyn FnMut() -> Uid,
) -> Result<AccessChanges, String> {
    let (role_items, group_items, user_items) = (
        array(doc, "userRoles"),
        array(doc, "userGroups"),
        array(doc, "users"),
    );
    let mut changes = AccessChanges::default();
    if role_items.is_empty() && group_items.is_empty() && user_items.is_empty() {
        return Ok(changes);
    }
    let mut failed = false;

    let mut roles = Reports::new(ROLE);
    for (index, v) in role_items.iter().enumerate() {
        let id = id_of(v, generate)?;
        let Some(name) = text(v, "name") else {
            roles.missing(index, id, "name");
            failed = true;
            continue;
        };
        roles.count(current.role(id).is_some());
        changes.roles.push(UserRole {
            id,
            name: name.to_owned(),
            code: text(v, "code").map(str::to_owned),
            description: text(v, "description").unwrap_or_default().to_owned(),
            authorities: v
                .get("authorities")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        });
    }

    let mut groups = Reports::new(GROUP);
    let mut members: HashMap<Uid, Vec<Uid>> = HashMap::new();
    for (index, v) in group_items.iter().enumerate() {
        let id = id_of(v, generate)?;
        let Some(name) = text(v, "name") else {
            groups.missing(index, id, "name");
            failed = true;
            continue;
        };
        groups.count(current.group(id).is_some());
        for user in refs(v.get("users"))? {
            members.entry(user).or_default().push(id);
        }
        changes.groups.push(UserGroup {
            id,
            name: name.to_owned(),
            code: text(v, "code").map(str::to_owned),
        });
    }

    let role_ids: HashSet<Uid> = changes
        .roles
        .iter()
        .map(|r| r.id)
        .chain(current.roles().map(|r| r.id))
        .collect();
    let group_ids: HashSet<Uid> = changes
        .groups
        .iter()
        .map(|g| g.id)
        .chain(current.groups().map(|g| g.id))
        .collect();

    let mut users = Reports::new(USER);
    let mut names: HashMap<String, Uid> = HashMap::new();
    for (index, v) in user_items.iter().enumerate() {
        let id = id_of(v, generate)?;
        let Some(username) = user_prop(v, "username")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            users.missing(index, id, "username");
            failed = true;
            continue;
        };
        let existing = current.record_by_id(id);
        let this = format!("{username} [{id}] (User)");
        // Unique usernames, in the document and against other users of the server.
        let owner = names
            .get(username)
            .copied()
            .or_else(|| current.record(username).map(|r| r.id))
            .filter(|other| *other != id);
        if let Some(other) = owner {
            users.error(
                index,
                id,
                ErrorCode::E5003,
                format!(
                    "Property `username` with value `{username}` on object {this} already \
                     exists on object {other}."
                ),
                None,
                "username",
                vec![
                    "username".into(),
                    username.to_owned(),
                    this.clone(),
                    other.to_string(),
                ],
            );
            failed = true;
        }
        names.insert(username.to_owned(), id);
        let user_roles = refs(user_prop(v, "userRoles"))?;
        let mut user_groups = refs(v.get("userGroups"))?;
        user_groups.extend(members.remove(&id).unwrap_or_default());
        user_groups.sort();
        user_groups.dedup();
        let capture = refs(v.get("organisationUnits"))?;
        let view = refs(v.get("dataViewOrganisationUnits"))?;
        let mut check = |targets: &[Uid], ok: &dyn Fn(Uid) -> bool, klass, property: &str| {
            for t in targets.iter().copied().filter(|t| !ok(*t)) {
                let r = reference(klass, t);
                users.error(
                    index,
                    id,
                    ErrorCode::E5002,
                    format!("Invalid reference {r} on object {this} for association `{property}`."),
                    Some(klass),
                    property,
                    vec![r, this.clone(), property.to_owned()],
                );
                failed = true;
            }
        };
        check(&user_roles, &|r| role_ids.contains(&r), ROLE, "userRoles");
        check(
            &user_groups,
            &|g| group_ids.contains(&g),
            GROUP,
            "userGroups",
        );
        check(&capture, org_unit_exists, ORG_UNIT, "organisationUnits");
        check(
            &view,
            org_unit_exists,
            ORG_UNIT,
            "dataViewOrganisationUnits",
        );
        let password_hash = match user_prop(v, "password").and_then(Value::as_str) {
            Some(p) if !p.is_empty() => hash_password(p)?,
            _ => existing
                .map(|e| e.password_hash.clone())
                .unwrap_or_default(),
        };
        users.count(existing.is_some());
        let mut record = UserRecord::new(id, username, password_hash);
        record.first_name = text(v, "firstName").unwrap_or_default().to_owned();
        record.surname = text(v, "surname").unwrap_or_default().to_owned();
        record.disabled = user_prop(v, "disabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // Authorities listed on the user itself are tally's (set by `tally user add`).
        record.authorities = existing.map(|e| e.authorities.clone()).unwrap_or_default();
        record.organisation_units = capture;
        record.data_view_organisation_units = view;
        record.user_roles = user_roles;
        record.user_groups = user_groups;
        changes.users.push(record);
    }
    // Members named by a group but not in the document: existing users gain the group.
    for (user, groups_of) in members {
        match current.record_by_id(user) {
            Some(r) => {
                let mut r = r.clone();
                r.user_groups.extend(groups_of);
                r.user_groups.sort();
                r.user_groups.dedup();
                changes.users.push(r);
            }
            None => {
                let (index, group) = group_items
                    .iter()
                    .enumerate()
                    .find_map(|(i, g)| {
                        let id = text(g, "id").and_then(|s| Uid::parse(s).ok())?;
                        groups_of.contains(&id).then_some((i, id))
                    })
                    .unwrap_or((0, groups_of[0]));
                let r = reference(USER, user);
                let this = format!("[{group}] (UserGroup)");
                groups.error(
                    index,
                    group,
                    ErrorCode::E5002,
                    format!("Invalid reference {r} on object {this} for association `users`."),
                    Some(USER),
                    "users",
                    vec![r, this.clone(), "users".into()],
                );
                failed = true;
            }
        }
    }
    for (items, reports) in [
        (role_items, roles),
        (group_items, groups),
        (user_items, users),
    ] {
        if !items.is_empty() {
            changes.type_reports.push(reports.finish(failed));
        }
    }
    if failed {
        changes.users.clear();
        changes.roles.clear();
        changes.groups.clear();
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn uid(s: &str) -> Uid {
        Uid::parse(s).unwrap()
    }

    fn no_generate() -> Uid {
        panic!("every object has an id")
    }

    #[test]
    fn reads_flat_and_nested_users_with_roles_and_groups() {
        let doc = json!({
            "userRoles": [{"id": "yrB6vc5Ip3r", "name": "Data entry",
                           "authorities": ["F_DATAVALUE_ADD"]}],
            "userGroups": [{"id": "wl5cDMuUhmF", "name": "Clerks",
                            "users": [{"id": "xE7jOejl9FI"}]}],
            "users": [
                {"id": "xE7jOejl9FI", "username": "clerk", "firstName": "Ama",
                 "surname": "Koroma", "password": "Secret123!",
                 "userRoles": [{"id": "yrB6vc5Ip3r"}],
                 "organisationUnits": [{"id": "O6uvpzGd5pu"}]},
                {"id": "GOLswS44mh8", "firstName": "Old", "surname": "Style",
                 "userCredentials": {"username": "old", "disabled": true,
                                     "userRoles": [{"id": "yrB6vc5Ip3r"}]}}
            ]
        });
        let dir = UserDirectory::new(Vec::new());
        let c = merge_access(&doc, &dir, &|_| true, &mut no_generate).unwrap();
        assert!(!c.has_errors());
        assert_eq!(c.roles.len(), 1);
        assert_eq!(c.groups.len(), 1);
        let clerk = &c.users[0];
        assert_eq!(clerk.user_roles, [uid("yrB6vc5Ip3r")]);
        assert_eq!(clerk.user_groups, [uid("wl5cDMuUhmF")]);
        assert!(bcrypt::verify("Secret123!", &clerk.password_hash).unwrap());
        let old = &c.users[1];
        assert_eq!(old.username, "old");
        assert!(old.disabled);
        assert!(old.password_hash.is_empty(), "no password: cannot log in");
        let stats: Vec<_> = c.type_reports.iter().map(|t| t.stats.created).collect();
        assert_eq!(stats, [1, 1, 2]);
    }

    #[test]
    fn broken_references_and_duplicate_names_refuse_everything() {
        let doc = json!({
            "users": [
                {"id": "xE7jOejl9FI", "username": "a", "userRoles": [{"id": "yrB6vc5Ip3r"}],
                 "organisationUnits": [{"id": "O6uvpzGd5pu"}]},
                {"id": "GOLswS44mh8", "username": "a"},
                {"id": "Kd8t4Hk2Sbz"}
            ]
        });
        let dir = UserDirectory::new(Vec::new());
        let c = merge_access(&doc, &dir, &|_| false, &mut no_generate).unwrap();
        assert!(c.has_errors());
        assert!(c.users.is_empty());
        let codes: Vec<_> = c.type_reports[0]
            .object_reports
            .iter()
            .flat_map(|o| o.error_reports.iter().map(|e| e.error_code.as_str()))
            .collect();
        assert_eq!(codes, ["E5002", "E5002", "E5003", "E4000"]);
        assert_eq!(c.type_reports[0].stats.ignored, 3);
    }

    #[test]
    fn updates_keep_the_password_hash_and_tally_authorities() {
        let mut existing = UserRecord::new(uid("xE7jOejl9FI"), "clerk", "$2b$04$hash".into());
        existing.authorities = vec!["F_DATAVALUE_ADD".into()];
        let dir = UserDirectory::new(vec![existing]);
        let doc = json!({"users": [{"id": "xE7jOejl9FI", "username": "clerk2"}]});
        let c = merge_access(&doc, &dir, &|_| true, &mut no_generate).unwrap();
        assert_eq!(c.users[0].password_hash, "$2b$04$hash");
        assert_eq!(c.users[0].authorities, ["F_DATAVALUE_ADD"]);
        assert_eq!(c.type_reports[0].stats.updated, 1);
    }
}
