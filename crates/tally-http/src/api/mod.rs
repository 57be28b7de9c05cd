//! Handlers, in a tree that mirrors DHIS2's URLs.

pub mod audits;
pub mod auth;
pub mod data_entry;
pub mod data_value_sets;
pub mod data_values;
pub mod file_resources;
pub mod metadata;
pub mod metadata_read;
pub mod registrations;
pub mod system;

/// Runs `f` (store or CPU work) on the blocking pool, off the async workers; its error
/// (a core error, or already an API error) becomes the answer.
pub(crate) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, crate::error::ApiError>
where
    T: Send + 'static,
    E: Send + 'static,
    crate::error::ApiError: From<E>,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::error::ApiError::internal(&e))?
        .map_err(crate::error::ApiError::from)
}
