//! Source errors: each names the object, and the row and column where one applies.

/// Reading an export failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// `--from` or a pipeline named a format tally does not know.
    #[error("unknown format `{name}` (known formats: {known})")]
    UnknownFormat {
        /// Name given.
        name: String,
        /// Known names.
        known: String,
    },
    /// Auto-detection found no format for a header.
    #[error("{object}: the header matches no known format; name it with --from")]
    UnknownHeader {
        /// Object.
        object: String,
    },
    /// Auto-detection found several formats for a header.
    #[error("{object}: the header matches several formats ({candidates}); name one with --from")]
    AmbiguousHeader {
        /// Object.
        object: String,
        /// Matching formats.
        candidates: String,
    },
    /// The file has no content at all.
    #[error("{object}: the file is empty (no header)")]
    Empty {
        /// Object.
        object: String,
    },
    /// Columns the format requires are missing.
    #[error("{object}: missing mandatory column{} {}", if columns.len() == 1 { "" } else { "s" }, columns.join(", "))]
    MissingColumns {
        /// Object.
        object: String,
        /// Missing column names.
        columns: Vec<String>,
    },
    /// A value could not be read.
    #[error("{object}: row {row} (line {line}), column {column}: {problem}")]
    BadValue {
        /// Object.
        object: String,
        /// 1-based data row.
        row: u64,
        /// Line in the file (header is line 1).
        line: u64,
        /// Column name.
        column: String,
        /// What is wrong.
        problem: String,
    },
    /// A file could not be parsed at all.
    #[error("{object}: {reason}")]
    Unreadable {
        /// Object.
        object: String,
        /// Why.
        reason: String,
    },
    /// A record of a provider export is wrong (a page without `data`, negative tokens, …).
    #[error("{object}: {location}: {problem}")]
    BadRecord {
        /// Object.
        object: String,
        /// Where in the object: page, bucket, result or row.
        location: String,
        /// What is wrong.
        problem: String,
    },
    /// Usage that could not be priced from the price book (unknown model, missing rate).
    #[error("{object}: {location}: {source}")]
    Unpriced {
        /// Object.
        object: String,
        /// Where in the object: bucket, result or row.
        location: String,
        /// Why.
        #[source]
        source: tally_pricing::PriceError,
    },
    /// A usage format was given no price book.
    #[error("{object}: format `{format}` has token counts but no costs, so it needs a price book (`prices = \"…\"` in the pipeline file, or --prices)")]
    NoPriceBook {
        /// Object.
        object: String,
        /// Format name.
        format: &'static str,
    },
    /// Polars failed while doing something with an object.
    #[error("{object}: {action}: {source}")]
    Polars {
        /// Object.
        object: String,
        /// What was being done.
        action: &'static str,
        /// The error.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl SourceError {
    /// Whether the user's input (or command) is at fault rather than the machine.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, SourceError::Io { .. } | SourceError::Polars { .. })
    }

    pub(crate) fn bad_cell(object: &str, cell: crate::BadCell) -> SourceError {
        let problem = match &cell.value {
            Some(v) => format!("cannot read `{v}` as {}", cell.expected),
            None => format!("empty, but {} is required", cell.expected),
        };
        SourceError::BadValue {
            object: object.to_string(),
            row: cell.row,
            line: cell.row + 1,
            column: cell.column,
            problem,
        }
    }
}
