//! Metadata reads, DHIS2-style: `GET /api/<collection>`, `GET /api/<collection>/{id}` and
//! the `GET /api/metadata` export, with `fields`, `filter`, `rootJunction`, `order` and
//! paging ([`tally_domain::query`] does the work over the app's metadata catalog).
//!
//! * Lists answer `{"pager": {...}, "<collection>": [...]}` (no `pager` with
//!   `paging=false`); default fields `id,displayName`, default order name then id.
//! * `/{id}` answers the object; default fields `*`; an unknown id is 404 with DHIS2's
//!   `<Type> with id <id> could not be found.` and error code E1005.
//! * `/api/metadata` answers a metadata document (default fields `:owner`) that
//!   `POST /api/metadata` accepts; it needs `F_METADATA_EXPORT`.
//!
//! Every route needs an authenticated user; what each user may read is [`read_scope`]
//! (the org unit list's `userOnly`/`withinUserHierarchy`… parameters, users without
//! `F_USER_VIEW` see only themselves).

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};
use std::sync::Arc;

use tally_core::users::User;
use tally_domain::metadata::{
    DEFAULT_CATEGORY_COMBO_UID, DEFAULT_CATEGORY_OPTION_COMBO_UID, DEFAULT_CATEGORY_OPTION_UID,
    DEFAULT_CATEGORY_UID,
};
use tally_domain::metadata::{LookupScheme, OrgUnitId, Snapshot, schemas};
use tally_domain::query::{
    self, ListQuery, Pager, QueryError, Restriction, Schema, SelectOptions, Source, encode_params,
    parse_bool,
};
use tally_domain::uid::Uid;

use crate::AppState;
use crate::api::data_value_sets::form_pairs;
use crate::api::system::DHIS2_VERSION;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::path::{ApiPath, Extension};
use crate::web_message::WebMessage;

/// Fields of list items when the request names none (DHIS2's `ID_NAME` preset).
pub const DEFAULT_LIST_FIELDS: &str = "id,displayName";
/// Fields of a single object when the request names none.
pub const DEFAULT_OBJECT_FIELDS: &str = "*";
/// Fields of `/api/metadata` when the request names none: the import shape.
pub const DEFAULT_EXPORT_FIELDS: &str = ":owner";

/// The routes of this module: every collection of [`schemas::COLLECTIONS`], its objects,
/// and `GET /api/metadata`.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/api/metadata", get(export_metadata))
        .route(
            "/api/identifiableObjects/{id}",
            get(get_identifiable_object),
        );
    for schema in schemas::COLLECTIONS {
        router = router
            .route(&format!("/api/{}", schema.collection), get(list_objects))
            .route(
                &format!("/api/{}/{{id}}", schema.collection),
                get(get_object),
            );
    }
    router
}

/// A predicate over object views limiting what a user may read.
pub type Scope = Box<dyn Fn(&Map<String, Value>) -> bool + Send + Sync>;

/// The catalog as `user` sees it: without `F_USER_VIEW`, `F_USER_ADD` (or `ALL`) the only
/// user is the user itself, in lists, by id, in the export, in nested fields
/// (`userGroups?fields=users[username]`) and in filters through references alike.
/// References to hidden users stay `{"id"}`.
pub struct Visible<'a> {
    catalog: &'a tally_domain::metadata::Catalog,
    /// `Some(uid)`: the user may see this user only.
    only_user: Option<String>,
}

impl<'a> Visible<'a> {
    #[must_use]
    pub fn new(catalog: &'a tally_domain::metadata::Catalog, user: &User) -> Self {
        let sees_all = user.has("F_USER_VIEW") || user.has("F_USER_ADD");
        Self {
            catalog,
            only_user: (!sees_all).then(|| user.uid.to_string()),
        }
    }

    fn hidden(&self, collection: &str, id: &str) -> bool {
        collection == schemas::USER.collection
            && self.only_user.as_deref().is_some_and(|own| own != id)
    }
}

impl Source for Visible<'_> {
    fn schema(&self, collection: &str) -> Option<&'static Schema> {
        self.catalog.schema(collection)
    }

    fn entries(&self, collection: &str) -> Vec<query::Entry<'_>> {
        let mut entries = self.catalog.entries(collection);
        entries.retain(|e| !self.hidden(collection, e.id));
        entries
    }

    fn view(&self, collection: &str, id: &str) -> Option<Map<String, Value>> {
        if self.hidden(collection, id) {
            return None;
        }
        self.catalog.view(collection, id)
    }

    fn contains(&self, collection: &str, id: &str) -> bool {
        !self.hidden(collection, id) && self.catalog.contains(collection, id)
    }
}

/// What `user` may read of `collection` (`pairs`: the list's own parameters; `None`
/// means everything). The engine applies it before filters, counting and paging, for
/// lists, single objects (404 outside the scope) and the export alike.
///
/// As DHIS2 (metadata is readable by every authenticated user):
/// * `organisationUnits`: all, or with `userOnly=true` the user's data capture units,
///   `userDataViewOnly=true` its data view units, `userDataViewFallback=true` those or
///   else the capture units, `withinUserHierarchy=true` the capture subtrees,
///   `withinUserSearchHierarchy=true` the search subtrees (tally has no search units:
///   the capture subtrees, DHIS2's fallback); the first of these that is set wins.
/// * everything else: all (users are narrowed by [`Visible`], everywhere).
fn read_scope(
    user: &User,
    collection: &str,
    pairs: &[(String, String)],
    snap: &Arc<Snapshot>,
) -> Option<Scope> {
    if collection != schemas::ORGANISATION_UNIT.collection {
        return None;
    }
    let flag = |name: &str| {
        let value = pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        parse_bool(value, false)
    };
    let units = |uids: &[Uid]| -> Vec<OrgUnitId> {
        uids.iter()
            .filter_map(|u| snap.org_unit_id(LookupScheme::Uid, u.as_str()))
            .collect()
    };
    let (ids, subtrees) = if flag("userOnly") {
        (units(&user.capture_org_units), false)
    } else if flag("userDataViewOnly") {
        (units(&user.view_org_units), false)
    } else if flag("userDataViewFallback") {
        (units(user.view_units()), false)
    } else if flag("withinUserHierarchy") || flag("withinUserSearchHierarchy") {
        (user.capture_roots(snap), true)
    } else {
        return None;
    };
    let snap = Arc::clone(snap);
    Some(Box::new(move |v| {
        v.get("id")
            .and_then(Value::as_str)
            .and_then(|id| snap.org_unit_id(LookupScheme::Uid, id))
            .is_some_and(|ou| {
                if subtrees {
                    snap.is_in_any_subtree(ou, &ids)
                } else {
                    ids.contains(&ou)
                }
            })
    }))
}

fn query_error(e: QueryError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

/// Metadata reads are JSON only.
fn refuse_non_json(path: &ApiPath) -> Result<(), ApiError> {
    match path.extension {
        None | Some(Extension::Json) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Metadata is served as JSON only (use .json or no extension)",
        )),
    }
}

/// The schema of `/api/<collection>[/...]`.
fn schema_of(path: &str) -> Result<&'static Schema, ApiError> {
    path.strip_prefix("/api/")
        .and_then(|rest| rest.split('/').next())
        .and_then(schemas::by_collection)
        .ok_or_else(|| ApiError::not_found("The requested resource was not found"))
}

/// The absolute collection URL the pager links start with (DHIS2 writes the server's
/// own URL, plus the request's `.json` if it had one).
fn endpoint(headers: &HeaderMap, collection: &str, path: &ApiPath) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let base = match header(header::HOST.as_str()) {
        Some(host) => {
            let scheme = header("x-forwarded-proto").unwrap_or("http");
            format!("{scheme}://{host}/api")
        }
        None => "/api".to_owned(),
    };
    let suffix = if path.extension == Some(Extension::Json) {
        ".json"
    } else {
        ""
    };
    format!("{base}/{collection}{suffix}")
}

fn json_response(body: Vec<u8>, extra: Option<(header::HeaderName, HeaderValue)>) -> Response {
    let mut resp = (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache, private"),
        ],
        body,
    )
        .into_response();
    if let Some((name, value)) = extra {
        resp.headers_mut().insert(name, value);
    }
    resp
}

/// DHIS2's 404 for an unknown object, with error code E1005.
fn not_found(schema: &Schema, id: &str) -> Response {
    let mut msg: WebMessage = WebMessage::new(
        404,
        "ERROR",
        format!("{} with id {id} could not be found.", schema.singular),
    );
    msg.error_code = Some("E1005".to_owned());
    let mut resp = (StatusCode::NOT_FOUND, axum::Json(msg)).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

/// `{"pager": ..., "<collection>": [...]}` in that order.
struct ListBody<'a> {
    pager: Option<&'a Pager>,
    collection: &'a str,
    items: &'a [Value],
}

impl Serialize for ListBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(pager) = self.pager {
            map.serialize_entry("pager", pager)?;
        }
        map.serialize_entry(self.collection, self.items)?;
        map.end()
    }
}

/// `GET /api/<collection>`.
pub async fn list_objects(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let path = req
        .extensions()
        .get::<ApiPath>()
        .copied()
        .unwrap_or_default();
    refuse_non_json(&path)?;
    let schema = schema_of(req.uri().path())?;
    let pairs = form_pairs(req.uri().query().unwrap_or_default());
    let endpoint = endpoint(req.headers(), schema.collection, &path);
    let catalog = state.app.catalog();
    let scope = read_scope(&user, schema.collection, &pairs, &state.app.snapshot());
    let levels = level_bounds(schema, &pairs)?;
    let body = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let query =
            ListQuery::from_params(&pairs, None, DEFAULT_LIST_FIELDS).map_err(query_error)?;
        let keep = |v: &Map<String, Value>| {
            levels.is_none_or(|l| l.contains(v)) && scope.as_ref().is_none_or(|s| s(v))
        };
        let restrict = levels.is_some() || scope.is_some();
        let mut page = query::list(
            &Visible::new(&catalog, &user),
            schema.collection,
            &query,
            restrict.then_some(&keep as Restriction<'_>),
            SelectOptions::default(),
        )
        .map_err(query_error)?;
        if let Some(pager) = &mut page.pager {
            pager.add_links(&endpoint, &encode_params(&pairs));
        }
        serde_json::to_vec(&ListBody {
            pager: page.pager.as_ref(),
            collection: schema.collection,
            items: &page.items,
        })
        .map_err(|e| ApiError::internal(&e))
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    Ok(json_response(body, None))
}

/// The org unit list's own parameters (DHIS2's `OrganisationUnitController`): `level`
/// (units at that level) and `maxLevel` (units at most that deep), combined with the
/// filters by AND whatever the `rootJunction`.
#[derive(Debug, Clone, Copy)]
struct LevelBounds {
    exact: Option<u64>,
    max: Option<u64>,
}

impl LevelBounds {
    fn contains(&self, view: &Map<String, Value>) -> bool {
        let level = view.get("level").and_then(Value::as_u64);
        self.exact.is_none_or(|l| level == Some(l))
            && self.max.is_none_or(|m| level.is_some_and(|l| l <= m))
    }
}

fn level_bounds(
    schema: &Schema,
    pairs: &[(String, String)],
) -> Result<Option<LevelBounds>, ApiError> {
    if schema.collection != schemas::ORGANISATION_UNIT.collection {
        return Ok(None);
    }
    let number = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| {
                v.trim().parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("`{name}` must be a number, got `{v}`"))
                })
            })
            .transpose()
    };
    let bounds = LevelBounds {
        exact: number("level")?,
        max: number("maxLevel")?,
    };
    Ok((bounds.exact.is_some() || bounds.max.is_some()).then_some(bounds))
}

/// `GET /api/<collection>/{id}`.
pub async fn get_object(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let path = req
        .extensions()
        .get::<ApiPath>()
        .copied()
        .unwrap_or_default();
    refuse_non_json(&path)?;
    let schema = schema_of(req.uri().path())?;
    let id = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let pairs = form_pairs(req.uri().query().unwrap_or_default());
    let query = ListQuery::from_params(&pairs, None, DEFAULT_OBJECT_FIELDS).map_err(query_error)?;
    let catalog = state.app.catalog();
    let scope = read_scope(&user, schema.collection, &[], &state.app.snapshot());
    let visible = Visible::new(&catalog, &user);
    let Some(view) = visible
        .view(schema.collection, &id)
        .filter(|v| scope.as_ref().is_none_or(|s| s(v)))
    else {
        return Ok(not_found(schema, &id));
    };
    let object = query::select(
        &visible,
        schema,
        &view,
        &query.fields,
        SelectOptions::default(),
    );
    let body = serde_json::to_vec(&object).map_err(|e| ApiError::internal(&e))?;
    Ok(json_response(body, None))
}

/// `GET /api/identifiableObjects/{id}`: the object with that UID, whatever its type
/// (openhexa reads data elements' `valueType` this way). Default fields `*`.
pub async fn get_identifiable_object(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let path = req
        .extensions()
        .get::<ApiPath>()
        .copied()
        .unwrap_or_default();
    refuse_non_json(&path)?;
    let id = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let pairs = form_pairs(req.uri().query().unwrap_or_default());
    let query = ListQuery::from_params(&pairs, None, DEFAULT_OBJECT_FIELDS).map_err(query_error)?;
    let catalog = state.app.catalog();
    let snap = state.app.snapshot();
    let visible = Visible::new(&catalog, &user);
    let found = schemas::COLLECTIONS.iter().find_map(|schema| {
        let scope = read_scope(&user, schema.collection, &[], &snap);
        visible
            .view(schema.collection, &id)
            .filter(|v| scope.as_ref().is_none_or(|s| s(v)))
            .map(|view| (*schema, view))
    });
    let Some((schema, view)) = found else {
        return Ok(not_found(&query::schema::OPAQUE_REFERENCE, &id));
    };
    let object = query::select(
        &visible,
        schema,
        &view,
        &query.fields,
        SelectOptions::default(),
    );
    let body = serde_json::to_vec(&object).map_err(|e| ApiError::internal(&e))?;
    Ok(json_response(body, None))
}

/// DHIS2's `system` header of a metadata export.
#[derive(Serialize)]
struct SystemInfo {
    id: &'static str,
    rev: &'static str,
    version: &'static str,
    date: String,
}

/// `{"system": ..., "<collection>": [...], ...}` in that order.
struct ExportBody {
    system: SystemInfo,
    collections: Vec<(&'static str, Vec<Value>)>,
}

impl Serialize for ExportBody {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("system", &self.system)?;
        for (collection, items) in &self.collections {
            map.serialize_entry(collection, items)?;
        }
        map.end()
    }
}

/// Which collections an export includes: `type=true` names select only those,
/// `type=false` removes some, otherwise all.
fn export_selection(pairs: &[(String, String)]) -> Vec<&'static Schema> {
    let flag = |schema: &Schema| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == schema.collection)
            .map(|(_, v)| parse_bool(Some(v), true))
    };
    let any_selected = schemas::COLLECTIONS.iter().any(|s| flag(s) == Some(true));
    schemas::COLLECTIONS
        .iter()
        .copied()
        .filter(|s| match flag(s) {
            Some(on) => on,
            None => !any_selected,
        })
        .collect()
}

const DEFAULT_UIDS: [&str; 4] = [
    DEFAULT_CATEGORY_COMBO_UID,
    DEFAULT_CATEGORY_UID,
    DEFAULT_CATEGORY_OPTION_UID,
    DEFAULT_CATEGORY_OPTION_COMBO_UID,
];

/// `GET /api/metadata`: every selected collection, unpaged, as a document
/// `POST /api/metadata` accepts.
///
/// Parameters: `fields`, `filter`, `order` for all types and `<type>:fields`,
/// `<type>:filter`, `<type>:order` for one; `<type>=true|false`; `defaults=EXCLUDE`
/// leaves out the four default category objects; `download=true` adds an attachment
/// header. References to objects the server does not hold are left out, so the document
/// always imports. Users come without passwords.
pub async fn export_metadata(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    crate::auth::require(&user, "F_METADATA_EXPORT")?;
    let path = req
        .extensions()
        .get::<ApiPath>()
        .copied()
        .unwrap_or_default();
    refuse_non_json(&path)?;
    let pairs = form_pairs(req.uri().query().unwrap_or_default());
    let last = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let exclude_defaults = last("defaults").is_some_and(|d| d.eq_ignore_ascii_case("EXCLUDE"));
    let download = parse_bool(last("download").as_deref(), false);
    let catalog = state.app.catalog();
    let date = state
        .app
        .clock()
        .now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string();
    let snap = state.app.snapshot();
    let scopes: Vec<(&'static Schema, Option<Scope>)> = export_selection(&pairs)
        .into_iter()
        .map(|s| (s, read_scope(&user, s.collection, &[], &snap)))
        .collect();
    let body = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let mut collections = Vec::new();
        for (schema, scope) in &scopes {
            let mut query =
                ListQuery::from_params(&pairs, Some(schema.collection), DEFAULT_EXPORT_FIELDS)
                    .map_err(query_error)?;
            query.paging = None;
            let keep = |v: &Map<String, Value>| {
                let is_default = exclude_defaults
                    && v.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| DEFAULT_UIDS.contains(&id));
                !is_default && scope.as_ref().is_none_or(|s| s(v))
            };
            let page = query::list(
                &Visible::new(&catalog, &user),
                schema.collection,
                &query,
                Some(&keep),
                SelectOptions {
                    drop_dangling: true,
                },
            )
            .map_err(query_error)?;
            if !page.items.is_empty() {
                collections.push((schema.collection, page.items));
            }
        }
        let body = ExportBody {
            system: SystemInfo {
                id: "tally",
                rev: env!("CARGO_PKG_VERSION"),
                version: DHIS2_VERSION,
                date,
            },
            collections,
        };
        serde_json::to_vec(&body).map_err(|e| ApiError::internal(&e))
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    let attachment = download.then(|| {
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=metadata.json"),
        )
    });
    Ok(json_response(body, attachment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        form_pairs(q)
    }

    #[test]
    fn export_selection_follows_dhis2() {
        let all = export_selection(&pairs(""));
        assert_eq!(all.len(), schemas::COLLECTIONS.len());
        let some = export_selection(&pairs("dataSets=true&dataElements=True&users=false"));
        let names: Vec<_> = some.iter().map(|s| s.collection).collect();
        assert_eq!(names, ["dataElements", "dataSets"]);
        let without = export_selection(&pairs("users=false&userRoles=false"));
        assert_eq!(without.len(), schemas::COLLECTIONS.len() - 2);
    }

    #[test]
    fn endpoints_are_absolute_when_the_host_is_known() {
        let mut h = HeaderMap::new();
        let json = ApiPath {
            version: None,
            extension: Some(Extension::Json),
        };
        assert_eq!(
            endpoint(&h, "dataElements", &json),
            "/api/dataElements.json"
        );
        h.insert(header::HOST, HeaderValue::from_static("play.example:8080"));
        assert_eq!(
            endpoint(&h, "dataElements", &ApiPath::default()),
            "http://play.example:8080/api/dataElements"
        );
    }
}
