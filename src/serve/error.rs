//! The errors of `aurora serve`: [`ServeError`] at startup, [`ApiError`] per
//! request (an HTTP status and a JSON body).

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::embed::EmbedError;
use crate::route::RouteError;
use crate::routes::RoutesError;
use crate::stream::StreamError;

/// Errors starting or stopping the service.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A parameter is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter (builder method / flag) name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The token file cannot be read or is empty.
    #[error("{path}: {reason}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The store refused the embedder, or failed to flush at shutdown.
    #[error(transparent)]
    Store(#[from] StreamError),
    /// The async runtime or the server failed.
    #[error("server: {0}")]
    Server(#[source] std::io::Error),
}

/// A request's failure: its HTTP status and a message, sent as
/// `{"error": message, "status": code}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// A `400 Bad Request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// A `404 Not Found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// A `401 Unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    /// A `500 Internal Server Error`.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.message, "status": self.status.as_u16()});
        let mut r = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

impl From<StreamError> for ApiError {
    fn from(e: StreamError) -> Self {
        let status = match &e {
            StreamError::UnknownGroup { .. }
            | StreamError::UnknownItem { .. }
            | StreamError::UnknownCluster { .. } => StatusCode::NOT_FOUND,
            StreamError::Dimension { .. }
            | StreamError::InvalidEmbedding { .. }
            | StreamError::InvalidItem { .. }
            | StreamError::ModelMismatch { .. }
            | StreamError::InvalidParam { .. } => StatusCode::BAD_REQUEST,
            StreamError::DuplicateItem { .. } => StatusCode::CONFLICT,
            StreamError::DiskFull { .. } => StatusCode::INSUFFICIENT_STORAGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl From<RouteError> for ApiError {
    fn from(e: RouteError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<RoutesError> for ApiError {
    fn from(e: RoutesError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<EmbedError> for ApiError {
    fn from(e: EmbedError) -> Self {
        ApiError::bad_request(format!("embedding: {e}"))
    }
}
