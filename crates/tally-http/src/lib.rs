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
use axum::routing::{get, post};
use tower::ServiceExt as _;

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<tally_core::App>,
}

/// Every route, in one place. Paths are the normalised ones (see [`path`]).
pub fn router(state: AppState) -> Router {
    use api::{data_value_sets as dvs, metadata, system};
    Router::new()
        .route(
            "/api/dataValueSets",
            post(dvs::import_data_value_sets).get(dvs::export_data_value_sets),
        )
        .route("/api/metadata", post(metadata::import_metadata))
        .route("/api/system/info", get(system::system_info))
        .route("/api/me", get(system::me))
        .route("/api/ping", get(system::ping))
        .route("/api/system/tasks/{job_type}/{id}", get(system::task))
        .route(
            "/api/system/taskSummaries/{job_type}/{id}",
            get(system::task_summary),
        )
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
    axum::serve(listener, axum::ServiceExt::into_make_service(svc))
        .with_graceful_shutdown(shutdown)
        .await
}
