//! The error of the profile-file layer.

/// Errors reading, validating or writing a profile file or one of its
/// sections.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not valid JSON of the expected shape (truncated, wrong
    /// types, missing fields); the message carries line and column.
    #[error("profile is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    /// A section is not valid JSON of its type's shape.
    #[error("profile section `{section}` is not valid JSON of the expected shape: {source}")]
    Section {
        /// The section's name.
        section: String,
        /// The parse error (line and column are within the section).
        source: serde_json::Error,
    },
    /// A section the caller needs is not in the file.
    #[error("the profile has no `{0}` section")]
    MissingSection(String),
    /// The `version` field names a format this reader does not know.
    #[error("unsupported profile version `{0}` (this reader supports 2.x and 3.x)")]
    Version(String),
    /// The file's seal does not match its content: the file was corrupted
    /// (a flipped byte in a download) or edited by hand without re-sealing
    /// (`aurora profile seal`).
    #[error("{file}: the profile's seal does not match its content (stored sha256 {stored}, content hashes to {actual}): the file is corrupted or was edited without re-sealing (`aurora profile seal`)")]
    Seal {
        /// The file (`profile` for bytes given in memory).
        file: String,
        /// The digest stored in the file.
        stored: String,
        /// The digest of the content as read.
        actual: String,
    },
    /// A field has an invalid value.
    #[error("invalid profile: {field}: {reason}")]
    Invalid {
        /// JSON path of the field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl ProfileError {
    /// An [`ProfileError::Invalid`] for the field at JSON path `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ProfileError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
