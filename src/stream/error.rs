//! The one error type of the incremental clustering store.

use std::path::PathBuf;

/// Errors of [`ClusterStore`](super::ClusterStore) and its parameters.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A parameter is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter (builder method) name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A file of the store cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The disk is full: the insert was not acknowledged and the store is unchanged.
    #[error("{path}: the disk is full; the operation was not recorded")]
    DiskFull {
        /// The file being written.
        path: PathBuf,
    },
    /// The store directory cannot be written.
    #[error("{path}: the store directory is read-only ({reason})")]
    ReadOnly {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        reason: String,
    },
    /// The store was written by a newer version of the library.
    #[error("{path}: store format version {found} is newer than this library's ({supported})")]
    NewerFormat {
        /// The metadata file.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The newest version this library reads.
        supported: u32,
    },
    /// The store's metadata file is not valid.
    #[error("{path}: invalid store metadata: {reason}")]
    CorruptMeta {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The vectors offered do not come from the store's embedding model.
    #[error(
        "the store holds `{store_model}` vectors of dimension {store_dim}, \
         not `{got_model}` of dimension {got_dim}"
    )]
    ModelMismatch {
        /// The store's embedding model.
        store_model: String,
        /// The store's dimension.
        store_dim: usize,
        /// The model offered.
        got_model: String,
        /// The dimension offered.
        got_dim: usize,
    },
    /// The store was created with other clustering parameters.
    #[error("the store was created with {name} = {stored}, not {given}")]
    ParamsMismatch {
        /// The parameter.
        name: &'static str,
        /// The store's value.
        stored: String,
        /// The value given.
        given: String,
    },
    /// An embedding has the wrong dimension.
    #[error("group `{group}`, item `{item}`: embedding has dimension {got}, the store expects {expected}")]
    Dimension {
        /// The group.
        group: String,
        /// The item.
        item: String,
        /// The store's dimension.
        expected: usize,
        /// The dimension received.
        got: usize,
    },
    /// An embedding has a NaN or infinite component, or is all zeros.
    #[error("group `{group}`, item `{item}`: invalid embedding: {reason}")]
    InvalidEmbedding {
        /// The group.
        group: String,
        /// The item.
        item: String,
        /// What is wrong.
        reason: String,
    },
    /// An item field other than the embedding is invalid (empty id, NaN quality…).
    #[error("group `{group}`, item `{item}`: invalid {field}: {reason}")]
    InvalidItem {
        /// The group.
        group: String,
        /// The item.
        item: String,
        /// The field (`id`, `group`, `quality`, `timestamp`).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The item id is already in the group with a different embedding.
    #[error("group `{group}`: item `{item}` is already in the store with another embedding")]
    DuplicateItem {
        /// The group.
        group: String,
        /// The item.
        item: String,
    },
    /// The item is not in the group.
    #[error("group `{group}`: no item `{item}`")]
    UnknownItem {
        /// The group.
        group: String,
        /// The item.
        item: String,
    },
    /// The group has never received an item.
    #[error("no group `{group}`")]
    UnknownGroup {
        /// The group.
        group: String,
    },
    /// The cluster is not (or no longer) in the group.
    #[error("group `{group}`: no cluster {cluster}")]
    UnknownCluster {
        /// The group.
        group: String,
        /// The cluster id.
        cluster: u64,
    },
    /// An earlier write failed and could not be rolled back: reopen the store.
    #[error("the store's log could not be repaired after a failed write; reopen the store")]
    Poisoned,
}

impl StreamError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        match source.raw_os_error() {
            Some(28) => StreamError::DiskFull { path }, // ENOSPC
            Some(30) => StreamError::ReadOnly {
                path,
                reason: source.to_string(),
            }, // EROFS
            _ if source.kind() == std::io::ErrorKind::PermissionDenied => StreamError::ReadOnly {
                path,
                reason: source.to_string(),
            },
            _ => StreamError::Io { path, source },
        }
    }
}
