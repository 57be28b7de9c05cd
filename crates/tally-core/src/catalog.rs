//! The metadata catalog of a running tally: the metadata set plus users, user roles and
//! user groups as DHIS2 shows them in `/api/users`, `/api/userRoles`, `/api/userGroups`
//! and `/api/metadata`. Password hashes and tally's per-user authorities are never part
//! of a view.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tally_domain::metadata::{Catalog, MetadataSet};
use tally_domain::uid::Uid;

use crate::users::UserDirectory;

fn refs(ids: impl IntoIterator<Item = Uid>) -> Value {
    let mut ids: Vec<Uid> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    Value::Array(ids.into_iter().map(|id| json!({ "id": id })).collect())
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The views of users, roles and groups.
#[must_use]
pub fn user_views(users: &UserDirectory) -> [(&'static str, Vec<Map<String, Value>>); 3] {
    let mut role_members: BTreeMap<Uid, Vec<Uid>> = BTreeMap::new();
    let mut group_members: BTreeMap<Uid, Vec<Uid>> = BTreeMap::new();
    let mut user_list = Vec::new();
    for u in users.records() {
        for r in &u.user_roles {
            role_members.entry(*r).or_default().push(u.id);
        }
        for g in &u.user_groups {
            group_members.entry(*g).or_default().push(u.id);
        }
        let name = format!("{} {}", u.first_name, u.surname).trim().to_owned();
        user_list.push(object(json!({
            "id": u.id,
            "username": u.username,
            "firstName": u.first_name,
            "surname": u.surname,
            "name": name,
            "displayName": name,
            "disabled": u.disabled,
            "userRoles": refs(u.user_roles.iter().copied()),
            "userGroups": refs(u.user_groups.iter().copied()),
            "organisationUnits": refs(u.organisation_units.iter().copied()),
            "dataViewOrganisationUnits": refs(u.data_view_organisation_units.iter().copied()),
        })));
    }
    let roles = users
        .roles()
        .map(|r| {
            let mut m = object(json!({
                "id": r.id,
                "name": r.name,
                "displayName": r.name,
                "authorities": r.authorities,
                "users": refs(role_members.get(&r.id).cloned().unwrap_or_default()),
            }));
            if let Some(code) = &r.code {
                m.insert("code".into(), json!(code));
            }
            if !r.description.is_empty() {
                m.insert("description".into(), json!(r.description));
            }
            m
        })
        .collect();
    let groups = users
        .groups()
        .map(|g| {
            let mut m = object(json!({
                "id": g.id,
                "name": g.name,
                "displayName": g.name,
                "users": refs(group_members.get(&g.id).cloned().unwrap_or_default()),
            }));
            if let Some(code) = &g.code {
                m.insert("code".into(), json!(code));
            }
            m
        })
        .collect();
    [
        ("users", user_list),
        ("userRoles", roles),
        ("userGroups", groups),
    ]
}

/// A catalog of this metadata and these users.
#[must_use]
pub fn build(set: Arc<MetadataSet>, users: &UserDirectory) -> Catalog {
    let mut catalog = Catalog::new(set);
    for (collection, objects) in user_views(users) {
        catalog = catalog.with_objects(collection, objects);
    }
    catalog
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{UserGroup, UserRecord, UserRole};
    use tally_domain::query::Source;

    #[test]
    fn views_never_carry_passwords_and_derive_members() {
        let uid = |s: &str| Uid::parse(s).unwrap();
        let mut clerk = UserRecord::new(uid("xE7jOejl9FI"), "clerk", "$2b$04$secret".into());
        clerk.first_name = "Ama".into();
        clerk.surname = "Koroma".into();
        clerk.authorities = vec!["ALL".into()];
        clerk.user_roles = vec![uid("yrB6vc5Ip3r")];
        clerk.user_groups = vec![uid("wl5cDMuUhmF")];
        let dir = UserDirectory::with_roles(
            vec![clerk],
            vec![UserRole {
                id: uid("yrB6vc5Ip3r"),
                name: "Data entry".into(),
                code: None,
                description: String::new(),
                authorities: vec!["F_DATAVALUE_ADD".into()],
            }],
            vec![UserGroup {
                id: uid("wl5cDMuUhmF"),
                name: "Clerks".into(),
                code: Some("CLERKS".into()),
            }],
        );
        let catalog = build(Arc::new(MetadataSet::new()), &dir);
        let user = catalog.view("users", "xE7jOejl9FI").unwrap();
        let text = serde_json::to_string(&user).unwrap();
        assert!(
            !text.contains("secret") && !text.contains("password"),
            "{text}"
        );
        assert!(!user.contains_key("authorities"));
        assert_eq!(user["displayName"], "Ama Koroma");
        let role = catalog.view("userRoles", "yrB6vc5Ip3r").unwrap();
        assert_eq!(role["users"], json!([{"id": "xE7jOejl9FI"}]));
        let group = catalog.view("userGroups", "wl5cDMuUhmF").unwrap();
        assert_eq!(group["users"], json!([{"id": "xE7jOejl9FI"}]));
        assert_eq!(group["code"], "CLERKS");
    }
}
