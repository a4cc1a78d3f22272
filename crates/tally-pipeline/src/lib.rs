//! Pipeline files, their validation, and the orchestration of `tally run` and `tally convert`.
//!
//! Data flows one way: sources → ledger → allocation → reports. Each stage writes a Parquet
//! dataset hive-partitioned by billing month under the output root; a manifest records what
//! each run consumed so a nightly re-run only redoes months whose inputs changed.

mod allocation;
pub mod config;
mod convert;
mod error;
mod explain;
pub mod fetch;
pub mod manifest;
mod run;

pub use config::{LoadedPipeline, Pipeline, Problem, Restatement, SourceConfig};
pub use convert::{convert, ConvertOptions};
pub use error::PipelineError;
pub use explain::{explain, ExplainLine, Explanation};
pub use run::{run, RunOptions, RunReport};
