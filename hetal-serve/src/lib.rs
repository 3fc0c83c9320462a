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
pub use config::{Limits, ServeConfig, TlsFiles};
pub use db::{Db, JobRow, JobState};
pub use error::{ApiError, ServeError};
pub use files::FileName;

/// The OpenAPI description of the service, as committed and served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Runs the service until the process is interrupted (Ctrl-C): opens (or creates) the data
/// folder and its database, binds `config.listen` and serves [`router`], over TLS when
/// `config.tls` names a certificate and a key.
///
/// Refuses to listen beyond the loopback interface in plain HTTP unless `config.insecure_http`
/// is set: tokens must not cross a network in the clear.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let listener = bind(&config).await?;
    serve_on(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Serves on `listener` (from [`bind`]) until `shutdown` completes: TLS when `config.tls` is
/// set (rustls, through axum-server), plain HTTP otherwise.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let tls = config.tls.clone();
    let app = app(config)?;
    let address = listener.local_addr().map_err(ServeError::Io)?;
    match tls {
        None => {
            tracing::info!(%address, "hetal serve listening (http)");
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await.map_err(ServeError::Io)
        }
        Some(tls) => {
            let _ = tls_provider().install_default();
            let rustls =
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key).await.map_err(|e| {
                    ServeError::Tls { cert: tls.cert.clone(), key: tls.key.clone(), message: e.to_string() }
                })?;
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            tracing::info!(%address, "hetal serve listening (https)");
            axum_server::from_tcp_rustls(listener.into_std().map_err(ServeError::Io)?, rustls)
                .map_err(ServeError::Io)?
                .handle(handle)
                .serve(app.into_make_service())
                .await
                .map_err(ServeError::Io)
        }
    }
}

/// The TLS primitives of the service and its client: rustls's ring provider, which builds with
/// a C compiler alone (the aws-lc-rs provider needs cmake). rustls marks it deprecated because
/// it has no post-quantum key exchange; the classical X25519 and P-256 exchanges it offers are
/// what TLS 1.3 peers negotiate by default.
#[allow(deprecated)]
pub fn tls_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The service's routes over the data folder of `config` (opened, or created).
pub fn app(config: ServeConfig) -> Result<axum::Router, ServeError> {
    Ok(router(std::sync::Arc::new(AppState::open(config)?)))
}

/// Binds the listening socket after the loopback check (an address beyond loopback needs TLS
/// or `insecure_http`).
pub async fn bind(config: &ServeConfig) -> Result<tokio::net::TcpListener, ServeError> {
    if !config.listen.ip().is_loopback() && config.tls.is_none() && !config.insecure_http {
        return Err(ServeError::NotLoopback { address: config.listen });
    }
    tokio::net::TcpListener::bind(config.listen).await.map_err(ServeError::Io)
}
