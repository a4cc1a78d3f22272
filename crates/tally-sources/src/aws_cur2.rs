//! AWS Data Exports, CUR 2.0: Parquet or CSV(.gz) with snake_case columns
//! (`line_item_unblended_cost`, `line_item_line_item_type`, …), `product` and `resource_tags` as
//! maps (Parquet) or JSON text (CSV). Same semantics as the legacy CUR ([`crate::aws_cur`]);
//! product attributes come from their flat column when present, else from the `product` map;
//! tags from `resource_tags` with the `user_` prefix removed (`user_team` → `team`).

use polars::prelude::LazyFrame;

use crate::aws_cur::{diagnose, ledger, Style};
use crate::{BadCell, Format, Input, SourceError};

/// The CUR 2.0 format.
pub struct AwsCur2;

impl Format for AwsCur2 {
    fn name(&self) -> &'static str {
        "aws-cur2"
    }

    fn description(&self) -> &'static str {
        "AWS Data Exports CUR 2.0 (Parquet, CSV, CSV.gz; snake_case columns, product and tags as maps)"
    }

    fn sniff(&self, columns: &[String]) -> bool {
        ["line_item_line_item_type", "line_item_unblended_cost", "line_item_usage_start_date"]
            .iter()
            .all(|c| columns.iter().any(|n| n == c))
    }

    fn scan(&self, input: &Input<'_>) -> Result<LazyFrame, SourceError> {
        ledger(input, Style::Cur2, self.name())
    }

    fn diagnose(&self, input: &Input<'_>) -> Result<Option<BadCell>, SourceError> {
        diagnose(input, Style::Cur2)
    }
}
