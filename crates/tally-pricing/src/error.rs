//! Price book errors.

/// Reading a price book or pricing usage failed.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// The price book file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or JSON, or does not have the price book's shape.
    #[error("{path}: not a valid price book: {reason}")]
    Malformed {
        /// Path (or name) of the file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// One entry has a bad value.
    #[error("{path}: model `{model}`: {reason}")]
    BadEntry {
        /// Path (or name) of the file.
        path: String,
        /// The entry's model name.
        model: String,
        /// What is wrong.
        reason: String,
    },
    /// No entry of the book matches the model.
    #[error("model `{model}` is not in the price book")]
    UnknownModel {
        /// Model as given by the usage.
        model: String,
    },
    /// The model's first price starts after the usage date.
    #[error("model `{model}` has no price effective on {date} (its first price is effective from {first})")]
    NotEffective {
        /// Model as given by the usage.
        model: String,
        /// Usage date.
        date: chrono::NaiveDate,
        /// First effective date in the book.
        first: chrono::NaiveDate,
    },
    /// The model is in the book but has no rate for this kind of usage.
    #[error("model `{model}` has no {tier} price for {charge} in the price book")]
    NoRate {
        /// Model as given by the usage.
        model: String,
        /// The charge (`cached-input`, `cache-write-1h`, …).
        charge: &'static str,
        /// The service tier (`standard`, `batch`, …), with the long-context tier when it applies.
        tier: String,
    },
    /// The cost does not fit in the ledger's decimal range.
    #[error("model `{model}`: the cost of {quantity} {charge} is out of range")]
    Overflow {
        /// Model.
        model: String,
        /// Charge.
        charge: &'static str,
        /// Quantity.
        quantity: String,
    },
}
