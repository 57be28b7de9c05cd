//! The DHIS2-compatible Web API of tally.
//!
//! Layout: [`path`] normalises DHIS2 URLs before routing (API version prefix, format
//! extension), [`router`] lists every route, `api/` mirrors the URL tree, [`error`] maps
//! failures to WebMessages, [`auth`] checks credentials.

pub mod api;
pub mod auth;
pub mod error;
pub mod path;
pub mod summary_xml;
pub mod web_message;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post, put};
use tower::ServiceExt as _;

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<tally_core::App>,
}

/// Every route, in one place. Paths are the normalised ones (see [`path`]).
pub fn router(state: AppState) -> Router {
    use api::{auth, data_value_sets as dvs, metadata, registrations, system};
    Router::new()
        .route(
            "/api/dataValueSets",
            post(dvs::import_data_value_sets).get(dvs::export_data_value_sets),
        )
        .route(
            "/api/dataValues",
            post(api::data_values::save_data_value)
                .get(api::data_values::get_data_value)
                .delete(api::data_values::delete_data_value),
        )
        .route(
            "/api/dataValues/file",
            post(api::data_values::save_file_value).layer(axum::extract::DefaultBodyLimit::max(
                api::file_resources::UPLOAD_BODY_LIMIT,
            )),
        )
        .route(
            "/api/dataValues/files",
            get(api::data_values::get_data_value_file),
        )
        .route(
            "/api/fileResources",
            post(api::file_resources::upload).layer(axum::extract::DefaultBodyLimit::max(
                api::file_resources::UPLOAD_BODY_LIMIT,
            )),
        )
        .route("/api/fileResources/{id}", get(api::file_resources::get))
        .route(
            "/api/fileResources/{id}/data",
            get(api::file_resources::data),
        )
        .route(
            "/api/dataValues/followup",
            put(api::data_values::put_follow_up),
        )
        .route(
            "/api/dataValues/followups",
            put(api::data_values::put_follow_ups),
        )
        .route("/api/audits/dataValue", get(api::audits::data_value_audits))
        .route("/api/metadata", post(metadata::import_metadata))
        .route("/api/system/info", get(system::system_info))
        .route("/api/me", get(system::me))
        .route("/api/ping", get(system::ping))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout).get(auth::logout))
        .route(
            "/dhis-web-commons-security/logout.action",
            get(auth::logout).post(auth::logout),
        )
        .route("/api/loginConfig", get(auth::login_config))
        .route(
            "/api/completeDataSetRegistrations",
            get(registrations::list)
                .post(registrations::import)
                .delete(registrations::delete),
        )
        .route(
            "/api/dataEntry/dataSetCompletion",
            post(registrations::data_set_completion),
        )
        .route("/api/dataEntry/metadata", get(api::data_entry::metadata))
        .route(
            "/api/dataEntry/dataValues",
            get(api::data_entry::data_values),
        )
        .route(
            "/api/dataEntry/dataValueContext",
            get(api::data_entry::data_value_context),
        )
        .route(
            "/api/dataEntry/lockExceptions",
            get(api::data_entry::lock_exceptions),
        )
        .route(
            "/api/lockExceptions",
            post(api::data_entry::add_lock_exception)
                .delete(api::data_entry::delete_lock_exception),
        )
        .route(
            "/api/dataEntry/minMaxValues",
            post(api::data_entry::save_min_max).delete(api::data_entry::delete_min_max),
        )
        .route(
            "/api/dataEntry/customForms/{id}",
            get(api::data_entry::custom_form),
        )
        .route(
            "/api/dataSets/{id}/dataValueSet",
            get(api::data_entry::data_value_set_template),
        )
        .route(
            "/api/apiToken",
            post(auth::create_token).get(auth::list_tokens),
        )
        .route(
            "/api/apiTokens",
            post(auth::create_token).get(auth::list_tokens),
        )
        .route("/api/apiToken/{id}", delete(auth::delete_token))
        .route("/api/apiTokens/{id}", delete(auth::delete_token))
        .route("/api/me/authorization", get(auth::my_authorities))
        .route(
            "/api/me/authorization/{authority}",
            get(auth::has_authority),
        )
        .route("/api/system/tasks/{job_type}/{id}", get(system::task))
        .route(
            "/api/system/taskSummaries/{job_type}/{id}",
            get(system::task_summary),
        )
        .merge(api::metadata_read::routes())
        .fallback(|| async { error::ApiError::not_found("The requested resource was not found") })
        .with_state(state)
}

/// The whole service: URL normalisation in front of the router.
pub fn service(
    state: AppState,
) -> impl tower::Service<
    axum::extract::Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    router(state).map_request(path::normalise)
}

/// Serves until `shutdown` completes. Tests bind port 0 and pass their own shutdown.
///
/// # Errors
/// The listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let svc = service(state);
    // Connection info gives the client address to the failed-login throttle.
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            std::net::SocketAddr,
        >(svc),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
