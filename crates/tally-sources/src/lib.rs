//! Billing and usage export formats, each mapped onto the tally ledger.
//!
//! Every format is one file behind the small [`Format`] trait and is registered in
//! [`FORMATS`]; adding a format touches that file, this list and its fixture.

pub mod anthropic_costs;
pub mod anthropic_usage;
pub mod aws_cur;
pub mod aws_cur2;
mod aws_cur_csv;
pub mod azure;
mod chunked;
pub mod cloud;
mod convert;
mod csv_head;
mod error;
pub mod focus;
pub mod gcp;
mod internal;
pub mod litellm_daily;
pub mod litellm_spend;
mod mapped;
pub mod one_time;
pub mod openai_costs;
pub mod openai_dashboard;
pub mod openai_usage;
pub mod people;
pub mod provider;
pub mod vendor_invoices;
mod views;

use std::path::Path;

use polars::prelude::LazyFrame;
use tally_ledger::frame::CategoryRule;

pub use convert::{convert_to_parquet, direct_reader, stats, ConvertStats, MonthStats, DIRECT_READER_ENV};
pub use csv_head::CsvHead;
pub use error::SourceError;

/// One local, uncompressed input file, and how to name it to users.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// The local file (already downloaded and decompressed).
    pub path: &'a Path,
    /// The object's name as users know it (URL or path), for messages and `x_source_object`.
    pub object: &'a str,
    /// The source name (`x_source`).
    pub source: &'a str,
    /// Category rules from the pipeline file, checked before the format's defaults.
    pub category_rules: &'a [CategoryRule],
    /// The price book, for usage formats that have token counts but no costs.
    pub prices: Option<&'a tally_pricing::PriceBook>,
    /// The source's costs are not authoritative (another source bills the same usage): its
    /// cost columns become zero and their value moves to `x_estimated_cost`, so the rows give
    /// quantities (tokens, requests) and price-book drift without counting cost twice.
    pub quantities_only: bool,
}

/// A cell that could not be read, found by [`Format::diagnose`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadCell {
    /// 1-based data row (the header is not counted).
    pub row: u64,
    /// Column name.
    pub column: String,
    /// The text found, if any.
    pub value: Option<String>,
    /// What was expected.
    pub expected: String,
}

/// An export format.
pub trait Format: Send + Sync {
    /// The name used by `tally convert --from` and in pipeline files.
    fn name(&self) -> &'static str;
    /// One line for `--help` and the README.
    fn description(&self) -> &'static str;
    /// Whether a CSV header (column names) looks like this format, for auto-detection. Formats
    /// that are not CSV are never detected: they are named with `--from`.
    fn sniff(&self, _columns: &[String]) -> bool {
        false
    }
    /// A lazy plan mapping one input file onto the ledger schema. Checks the header (missing
    /// columns), but not the values.
    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError>;
    /// Called when reading the values failed: finds the first cell that cannot be read. Formats
    /// that check every value while parsing (in Rust, not Polars) have nothing left to find.
    fn diagnose(&self, _input: &Input<'_>) -> Result<Option<BadCell>, SourceError> {
        Ok(None)
    }
    /// A direct reader of this input, faster than [`Format::scan`]'s plan and giving the same
    /// ledger, when the format has one and the input suits it (see `aws_cur_csv.rs`). Called
    /// after `scan` has checked the input.
    fn direct(&self, _input: &Input<'_>) -> Result<Option<Direct>, SourceError> {
        Ok(None)
    }
}

/// What a format's direct reader makes of one input (see [`Format::direct`]).
pub struct Direct(pub(crate) Option<Box<dyn chunked::ChunkMapper + Send>>);

impl Direct {
    /// An input with no rows (a manifest).
    pub fn empty() -> Direct {
        Direct(None)
    }
}

/// Every known format.
pub static FORMATS: &[&dyn Format] = &[
    &focus::Focus,
    &openai_usage::OpenAiUsage,
    &openai_costs::OpenAiCosts,
    &openai_dashboard::OpenAiDashboard,
    &anthropic_usage::AnthropicUsage,
    &anthropic_costs::AnthropicCosts,
    &litellm_spend::LiteLlmSpend,
    &litellm_daily::LiteLlmDaily,
    // Cloud billing exports.
    &aws_cur::AwsCur,
    &aws_cur2::AwsCur2,
    &azure::Azure,
    &gcp::Gcp,
    // Costs no bill carries.
    &people::People,
    &vendor_invoices::VendorInvoices,
    &one_time::OneTime,
];

/// Looks a format up by name.
pub fn format_by_name(name: &str) -> Result<&'static dyn Format, SourceError> {
    FORMATS.iter().copied().find(|f| f.name() == name).ok_or_else(|| SourceError::UnknownFormat {
        name: name.to_string(),
        known: FORMATS.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "),
    })
}

/// Finds the format of a local file from its header; an error when none or several match.
pub fn detect_format(path: &Path, object: &str) -> Result<&'static dyn Format, SourceError> {
    let head = CsvHead::read(path, object)?;
    let matches: Vec<_> = FORMATS.iter().copied().filter(|f| f.sniff(&head.columns)).collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(SourceError::UnknownHeader { object: object.to_string() }),
        many => Err(SourceError::AmbiguousHeader {
            object: object.to_string(),
            candidates: many.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "),
        }),
    }
}
