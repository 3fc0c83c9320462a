//! `hetal serve`: the server role of HETAL's two-party protocol as an HTTP service.
//!
//! The client and the compute provider are two parties on two machines. Instead of carrying a
//! job directory of several GB by hand, the client creates a job on the service, uploads the
//! public bundle and the encrypted job over HTTP (streamed to disk, chunked and resumable,
//! checked against the container format's checksum), and the service keeps the job's state in
//! an embedded SQLite database. The protocol itself stays in `hetal-train`
//! ([`hetal_train::protocol`]); this crate only moves its files and keeps its state.
//!
//! The service never holds a secret key: an upload whose container says "secret key" is
//! refused and deleted, whatever name it was sent under.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = hetal_serve::ServeConfig::new("127.0.0.1:8750".parse()?, "serve-data".into());
//! hetal_serve::serve(config).await?;
//! # Ok(()) }
//! ```
//!
//! What is served (the committed `openapi.json` describes each route):
//! `GET /health`, `GET /openapi.json`, `GET /metrics`, `POST /jobs`, `GET /jobs/{id}`,
//! `DELETE /jobs/{id}`, `PUT /jobs/{id}/files/{name}?offset=N` (one chunk),
//! `GET /jobs/{id}/uploads/{name}` (bytes received so far, to resume), and
//! `POST /jobs/{id}/files/{name}/complete`.

mod api;
mod auth;
mod client;
mod config;
mod db;
mod error;
mod files;
mod worker;

pub use api::{router, AppState};
pub use auth::{hash_token, new_token};
pub use client::{run, submit, Remote, RemoteError, RemoteJob, RunEvent, CHUNK};
pub use config::{Limits, ServeConfig};
pub use db::{Db, JobRow, JobState};
pub use error::{ApiError, ServeError};
pub use files::FileName;

/// The OpenAPI description of the service, as committed and served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Runs the service until the process is interrupted (Ctrl-C): opens (or creates) the data
/// folder and its database, binds `config.listen` and serves [`router`].
///
/// Refuses to listen beyond the loopback interface unless `config.insecure_http` is set: the
/// service speaks plain HTTP, and tokens must not cross a network in the clear.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let listener = bind(&config).await?;
    let app = app(config)?;
    tracing::info!(address = %listener.local_addr().map_err(ServeError::Io)?, "hetal serve listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(ServeError::Io)
}

/// The service's routes over the data folder of `config` (opened, or created).
pub fn app(config: ServeConfig) -> Result<axum::Router, ServeError> {
    Ok(router(std::sync::Arc::new(AppState::open(config)?)))
}

/// Binds the listening socket after the loopback check.
pub async fn bind(config: &ServeConfig) -> Result<tokio::net::TcpListener, ServeError> {
    if !config.listen.ip().is_loopback() && !config.insecure_http {
        return Err(ServeError::NotLoopback { address: config.listen });
    }
    tokio::net::TcpListener::bind(config.listen).await.map_err(ServeError::Io)
}
