//! Converting export files into ledger Parquet, with every value checked.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use tally_ledger::frame::{
    collect_streaming, money_at, parquet_null_counts, scan_ledger, sink_parquet, str_at, u64_at,
};
use tally_ledger::schema::{self, ledger_columns};
use tally_ledger::Money;

use crate::{Format, Input, SourceError};

/// Row count and exact totals of one (billing month, currency).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MonthStats {
    /// Ledger rows.
    pub rows: u64,
    /// Σ BilledCost.
    pub billed_cost: Money,
    /// Σ EffectiveCost.
    pub effective_cost: Money,
}

/// What a conversion wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConvertStats {
    /// Rows written.
    pub rows: u64,
    /// Per billing month (`YYYY-MM`), per billing currency.
    pub months: BTreeMap<String, BTreeMap<String, MonthStats>>,
}

fn polars_err<'a>(object: &'a str, action: &'static str) -> impl FnOnce(PolarsError) -> SourceError + 'a {
    move |source| SourceError::Polars { object: object.to_string(), action, source }
}

/// Converts `inputs` (all of one format) into one ledger Parquet file at `dest`, streaming.
///
/// Every value is checked: a cell that cannot be read, or an empty mandatory cell, is an error
/// naming the object, row and column, and `dest` is removed. Returns exact totals per month.
pub fn convert_to_parquet(format: &dyn Format, inputs: &[Input<'_>], dest: &Path) -> Result<ConvertStats, SourceError> {
    let result = convert_inner(format, inputs, dest);
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

fn convert_inner(format: &dyn Format, inputs: &[Input<'_>], dest: &Path) -> Result<ConvertStats, SourceError> {
    let first = inputs.first().map(|i| i.object).unwrap_or("(no input)");
    let frames = inputs.iter().map(|i| format.scan(i)).collect::<Result<Vec<_>, _>>()?;
    let lf = if frames.len() == 1 {
        frames
            .into_iter()
            .next()
            .ok_or_else(|| SourceError::Unreadable { object: first.into(), reason: "no input".into() })?
    } else {
        concat(frames, UnionArgs { parallel: false, rechunk: false, ..Default::default() })
            .map_err(polars_err(first, "combining inputs"))?
    };
    let lf = if format.name() == "focus" { lf } else { tally_ledger::frame::conform_focus(lf) };
    let lf = if inputs.iter().any(|i| i.quantities_only) { quantities_only(lf) } else { lf };
    // Write the rows in one streaming pass (a second consumer of the same stream would make
    // Polars funnel it through one thread), then total what was written: the month and currency
    // totals from four columns of the file, the nulls of every mandatory column (values that
    // could not be read are nulls) from the row groups' statistics.
    if let Err(e) = sink_parquet(lf, dest) {
        locate(format, inputs)?;
        return Err(SourceError::Polars { object: first.to_string(), action: "converting", source: e });
    }
    let required: Vec<&str> = ledger_columns().filter(|c| !c.nullable).map(|c| c.name).collect();
    let nulls = parquet_null_counts(dest, &required).map_err(polars_err(first, "reading back the written file"))?;
    let written = scan_ledger(&[dest.to_path_buf()]).map_err(polars_err(first, "reading back the written file"))?;
    for (c, n) in required.iter().zip(nulls) {
        let n = match n {
            Some(n) => n,
            None => u64_at(
                &collect_streaming(written.clone().select([col(*c).null_count().alias("n")]))
                    .map_err(polars_err(first, "counting empty values"))?,
                "n",
                0,
            ),
        };
        if n > 0 {
            locate(format, inputs)?;
            return Err(SourceError::Unreadable {
                object: first.to_string(),
                reason: format!("column {c} has {n} empty or unreadable values"),
            });
        }
    }
    stats(written, first)
}
/// Moves the cost of every row into `x_estimated_cost` and zeroes the cost columns (a row with
/// no price keeps no estimate and its `unpriced` basis).
fn quantities_only(lf: LazyFrame) -> LazyFrame {
    let zero = || lit(0i32).cast(tally_ledger::MONEY_DTYPE);
    let unpriced = col(schema::X_COST_BASIS).eq(lit(crate::provider::UNPRICED)).fill_null(lit(false));
    lf.with_columns([
        when(unpriced.clone())
            .then(lit(NULL).cast(tally_ledger::MONEY_DTYPE))
            .otherwise(col("EffectiveCost"))
            .alias(schema::X_ESTIMATED_COST),
        zero().alias("BilledCost"),
        zero().alias("EffectiveCost"),
        zero().alias("ListCost"),
        zero().alias("ContractedCost"),
        when(unpriced).then(lit(crate::provider::UNPRICED)).otherwise(lit("quantities")).alias(schema::X_COST_BASIS),
    ])
}

/// Finds the first bad cell across `inputs` and returns it as an error; `Ok` when none is found.
fn locate(format: &dyn Format, inputs: &[Input<'_>]) -> Result<(), SourceError> {
    for input in inputs {
        if let Some(cell) = format.diagnose(input)? {
            return Err(SourceError::bad_cell(input.object, cell));
        }
    }
    Ok(())
}

/// Exact totals of a ledger frame per month and currency.
pub fn stats(lf: LazyFrame, object: &str) -> Result<ConvertStats, SourceError> {
    let df = collect_streaming(
        lf.group_by([col(schema::X_BILLING_MONTH), col("BillingCurrency")])
            .agg([
                len().alias("rows"),
                col("BilledCost").sum().alias("billed"),
                col("EffectiveCost").sum().alias("effective"),
            ])
            .sort([schema::X_BILLING_MONTH, "BillingCurrency"], Default::default()),
    )
    .map_err(polars_err(object, "totalling"))?;
    Ok(stats_of(&df))
}

/// [`ConvertStats`] from a frame of totals with columns `x_billing_month`, `BillingCurrency`,
/// `rows`, `billed` and `effective`.
fn stats_of(df: &DataFrame) -> ConvertStats {
    let mut out = ConvertStats::default();
    for i in 0..df.height() {
        let n = u64_at(df, "rows", i);
        out.rows += n;
        let entry = out
            .months
            .entry(str_at(df, schema::X_BILLING_MONTH, i).unwrap_or_default())
            .or_default()
            .entry(str_at(df, "BillingCurrency", i).unwrap_or_default())
            .or_default();
        entry.rows += n;
        entry.billed_cost += money_at(df, "billed", i);
        entry.effective_cost += money_at(df, "effective", i);
    }
    out
}
