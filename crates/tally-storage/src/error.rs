//! Storage errors, each naming the URL or object involved.

/// Something went wrong reading or writing object storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL's scheme is not one tally knows.
    #[error(
        "unsupported URL scheme `{scheme}` in `{url}` (use a path, file://, s3://, gs://, az://, abfs:// or memory://)"
    )]
    UnsupportedScheme {
        /// The scheme found.
        scheme: String,
        /// The URL given.
        url: String,
    },
    /// The URL could not be parsed.
    #[error("invalid storage URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
    /// No credentials for a cloud URL were found in the environment.
    #[error("no credentials for `{url}`: {hint}")]
    MissingCredentials {
        /// The URL given.
        url: String,
        /// Which environment variables would provide them.
        hint: String,
    },
    /// Nothing matched an input URL, prefix or glob.
    #[error("no objects found at `{url}`")]
    NotFound {
        /// The URL given.
        url: String,
    },
    /// A gzip object is truncated or corrupt.
    #[error("`{object}` is not a valid gzip stream: {reason}")]
    BadGzip {
        /// The object.
        object: String,
        /// What the decoder said.
        reason: String,
    },
    /// An object store operation failed.
    #[error("{action} `{object}`: {source}")]
    Store {
        /// What was being done.
        action: &'static str,
        /// The object or prefix.
        object: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// A local file operation failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The local path.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl StorageError {
    /// Whether the error is the user's to fix (bad URL, missing credentials, missing input, bad
    /// file) rather than a failure of the machine or the service.
    pub fn is_user_error(&self) -> bool {
        match self {
            StorageError::UnsupportedScheme { .. }
            | StorageError::InvalidUrl { .. }
            | StorageError::MissingCredentials { .. }
            | StorageError::NotFound { .. }
            | StorageError::BadGzip { .. } => true,
            StorageError::Store { source, .. } => matches!(
                source,
                object_store::Error::NotFound { .. }
                    | object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
            ),
            StorageError::Io { .. } => false,
        }
    }
}
