//! The error of the semantic-routes job.

use crate::embed::EmbedError;
use crate::profile::ProfileError;

/// Errors building, loading or matching semantic routes.
#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    /// The route file or section is unreadable or invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The embedder failed (or returned an invalid vector).
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// There are no routes (no in-scope example at all).
    #[error("{0}: the route set is empty (no line names a route)")]
    Empty(String),
    /// A route name occurs twice where names must be unique.
    #[error("{source_name}: duplicate route name `{route}`")]
    DuplicateRoute {
        /// Where the names come from (a file, a field).
        source_name: String,
        /// The repeated name.
        route: String,
    },
    /// A route is named (by descriptions, keywords or a route list) but has no example.
    #[error("{source_name}: route `{route}` has no examples")]
    RouteWithoutExamples {
        /// The file naming the route.
        source_name: String,
        /// The route.
        route: String,
    },
    /// A validation line names a route that the examples do not define.
    #[error("{source_name} line {line}: unknown route `{route}` (not in the examples)")]
    UnknownRoute {
        /// The file.
        source_name: String,
        /// 1-based line.
        line: usize,
        /// The route.
        route: String,
    },
    /// An embedding has the wrong dimension.
    #[error("embedding dimension {got}, the routes expect {expected}")]
    Dimension {
        /// The routes' dimension.
        expected: usize,
        /// The embedding's.
        got: usize,
    },
    /// An embedding has a NaN or infinite component, or is all zeros.
    #[error("{what}: the embedding is not finite or is all zeros (component {index})")]
    InvalidEmbedding {
        /// Which embedding (e.g. `query`, `examples row 3`).
        what: String,
        /// The first bad component (0 for an all-zero vector).
        index: usize,
    },
    /// A text to match is empty or only whitespace.
    #[error("empty text: nothing to route")]
    EmptyText,
    /// The embedder is not the model the routes were built with.
    #[error(
        "embedder mismatch: the routes were built with `{routes_model}` (dim {routes_dim}, mock {routes_is_mock}), \
         the embedder is `{embedder_model}` (dim {embedder_dim}, mock {embedder_is_mock})"
    )]
    EmbedderMismatch {
        /// Model recorded in the routes.
        routes_model: String,
        /// Dimension recorded in the routes.
        routes_dim: usize,
        /// Whether the routes came from the mock.
        routes_is_mock: bool,
        /// The embedder's model id.
        embedder_model: String,
        /// The embedder's dimension.
        embedder_dim: usize,
        /// Whether the embedder is the mock.
        embedder_is_mock: bool,
    },
    /// A parameter is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    Param {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An input file is unreadable or a line is malformed.
    #[error("{source_name}{}: {reason}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Input {
        /// The file.
        source_name: String,
        /// 1-based line, when the problem is on one line.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
}

impl RoutesError {
    #[cfg(feature = "builder")]
    pub(crate) fn input(source_name: &str, line: Option<usize>, reason: impl Into<String>) -> Self {
        RoutesError::Input {
            source_name: source_name.to_string(),
            line,
            reason: reason.into(),
        }
    }
}
