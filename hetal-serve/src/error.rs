//! Errors: [`ServeError`] for starting the service, [`ApiError`] for one request (a status code
//! and a message, sent as `{"error": "..."}`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Listening beyond loopback without `--insecure-http`.
    #[error(
        "{address} is not a loopback address: bearer tokens must not cross a network in the clear; give \
         --tls-cert and --tls-key, listen on 127.0.0.1 behind a TLS proxy, or pass --insecure-http"
    )]
    NotLoopback {
        /// The address asked for.
        address: SocketAddr,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("TLS certificate {cert} and key {key}: {message}")]
    Tls {
        /// The certificate file.
        cert: std::path::PathBuf,
        /// The key file.
        key: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The database.
    #[error("database {path}: {source}")]
    Db {
        /// Its file.
        path: std::path::PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A socket or a file.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A request's failure: its HTTP status and a message for the client. Messages about a job
/// are only given to its token's holder; others learn nothing about it.
#[derive(Debug)]
pub struct ApiError {
    /// The status code.
    pub status: StatusCode,
    /// What was wrong, with the values.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no token, or a token that opens nothing. The same for a job that does not exist,
    /// so that a stranger cannot tell which jobs exist.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "missing or wrong bearer token (Authorization: Bearer <token>)")
    }

    /// 500, logged with its cause; the client gets no detail of the server's files.
    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!(context, error = %e, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error ({context}); see the server's log"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal("database", e)
    }
}
