//! Pipeline errors.

use crate::config::Problem;

/// Running or checking a pipeline failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The pipeline file could not be read.
    #[error("reading {path}: {source}")]
    ReadConfig {
        /// Path.
        path: String,
        /// Error.
        #[source]
        source: std::io::Error,
    },
    /// The pipeline file is not valid TOML for a pipeline.
    #[error("{path}: {message}")]
    ParseConfig {
        /// Path.
        path: String,
        /// What the parser said, with line and column.
        message: String,
    },
    /// The pipeline file has problems (all of them listed).
    #[error("{path}: {} problem{}:\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// Path.
        path: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// A source's location holds no objects.
    #[error("source `{source_name}`: no objects found at {url}")]
    NoObjects {
        /// Source name.
        source_name: String,
        /// Its URL.
        url: String,
    },
    /// A pipeline input file (drivers, …) has a bad row.
    #[error("{object}: row {row}: {message}")]
    BadRow {
        /// The file.
        object: String,
        /// 1-based data row.
        row: usize,
        /// What is wrong.
        message: String,
    },
    /// A currency in use has no exchange rate for the month.
    #[error("{file}: no exchange rate for {currency} in {month} (needed by {object}, row {row})")]
    MissingFx {
        /// The FX file.
        file: String,
        /// Currency.
        currency: String,
        /// Month.
        month: String,
        /// An object with a row in that currency.
        object: String,
        /// Its row.
        row: u64,
    },
    /// The command line named no usable output.
    #[error("{0}")]
    Usage(String),
    /// A provider API call failed.
    #[error("{url}: {message}")]
    Fetch {
        /// The endpoint.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The price book is unreadable or invalid.
    #[error(transparent)]
    Prices(#[from] tally_pricing::PriceError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] tally_storage::StorageError),
    /// Reading an export failed.
    #[error(transparent)]
    Source(#[from] tally_sources::SourceError),
    /// Computing a report failed.
    #[error(transparent)]
    Report(#[from] tally_report::ReportError),
    /// The run manifest is unreadable.
    #[error("the run manifest {url} is unreadable ({reason}); move it aside to rebuild every month")]
    Manifest {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// Polars failed in a stage.
    #[error("{stage} for {month}: {source}")]
    Polars {
        /// The stage.
        stage: &'static str,
        /// Billing month.
        month: String,
        /// The error.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A local scratch file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Error.
        #[source]
        source: std::io::Error,
    },
}

impl PipelineError {
    /// Whether the user's input, pipeline file or command line is at fault (exit code 2),
    /// rather than the machine or a service (exit code 1).
    pub fn is_user_error(&self) -> bool {
        match self {
            PipelineError::ReadConfig { .. }
            | PipelineError::ParseConfig { .. }
            | PipelineError::Invalid { .. }
            | PipelineError::NoObjects { .. }
            | PipelineError::BadRow { .. }
            | PipelineError::MissingFx { .. }
            | PipelineError::Prices(_)
            | PipelineError::Usage(_)
            | PipelineError::Manifest { .. } => true,
            PipelineError::Storage(e) => e.is_user_error(),
            PipelineError::Report(e) => e.is_user_error(),
            PipelineError::Source(e) => e.is_user_error(),
            PipelineError::Polars { .. } | PipelineError::Io { .. } | PipelineError::Fetch { .. } => false,
        }
    }
}
