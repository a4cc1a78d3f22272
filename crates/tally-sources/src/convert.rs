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

impl ConvertStats {
    /// Adds the rows and totals of `other`.
    pub(crate) fn add(&mut self, other: ConvertStats) {
        for (month, currencies) in other.months {
            for (currency, s) in currencies {
                self.add_month(&month, &currency, s);
            }
        }
    }

    /// Adds rows and totals of one billing month and currency.
    pub(crate) fn add_month(&mut self, month: &str, currency: &str, s: MonthStats) {
        self.rows += s.rows;
        let e = self.months.entry(month.to_string()).or_default().entry(currency.to_string()).or_default();
        e.rows += s.rows;
        e.billed_cost += s.billed_cost;
        e.effective_cost += s.effective_cost;
    }
}

fn polars_err<'a>(object: &'a str, action: &'static str) -> impl FnOnce(PolarsError) -> SourceError + 'a {
    move |source| SourceError::Polars { object: object.to_string(), action, source }
}

/// Converts `inputs` (all of one format) into one ledger Parquet file at `dest`, streaming.
///
/// Every value is checked: a cell that cannot be read, or an empty mandatory cell, is an error
/// naming the object, row and column, and `dest` is removed. Returns exact totals per month.
///
/// Legacy CUR CSV files are read by their direct reader ([`crate::aws_cur_csv`]) unless
/// [`DIRECT_READER_ENV`] is `off`; anything it declines is read by the format's Polars plan.
pub fn convert_to_parquet(format: &dyn Format, inputs: &[Input<'_>], dest: &Path) -> Result<ConvertStats, SourceError> {
    // The binary refuses an unknown value before any work; a library caller gets the default.
    let direct = direct_reader().unwrap_or(true);
    convert_with(format, inputs, dest, direct.then_some(crate::chunked::CHUNK))
}

/// Whether [`DIRECT_READER_ENV`] leaves the direct readers on: unset, `on`, `true`, `yes` or `1`
/// is on; `off`, `false`, `no` or `0` is off; anything else is an error (its message).
pub fn direct_reader() -> Result<bool, String> {
    match std::env::var(DIRECT_READER_ENV) {
        Err(_) => Ok(true),
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "" | "on" | "true" | "yes" | "1" => Ok(true),
            "off" | "false" | "no" | "0" => Ok(false),
            other => Err(format!("{DIRECT_READER_ENV}=`{other}` is neither on nor off (on, off)")),
        },
    }
}

/// [`convert_to_parquet`], with the direct reader's chunk size (`None`: the Polars plan only).
pub(crate) fn convert_with(
    format: &dyn Format,
    inputs: &[Input<'_>],
    dest: &Path,
    direct: Option<usize>,
) -> Result<ConvertStats, SourceError> {
    let result = convert_inner(format, inputs, dest, direct);
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

fn convert_inner(
    format: &dyn Format,
    inputs: &[Input<'_>],
    dest: &Path,
    direct: Option<usize>,
) -> Result<ConvertStats, SourceError> {
    let first = inputs.first().map(|i| i.object).unwrap_or("(no input)");
    // Planned first in any case: the header, manifest and delivery checks, and their errors, are
    // the plan's.
    let frames = inputs.iter().map(|i| format.scan(i)).collect::<Result<Vec<_>, _>>()?;
    if let Some(chunk) = direct {
        if let Some(stats) = convert_direct(format, inputs, dest, chunk)? {
            return Ok(stats);
        }
    }
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
    check_written(format, inputs, dest, None)
}

/// The environment variable that turns the direct CSV readers off (`TALLY_DIRECT_READER=off`):
/// every file is then read by the format's Polars plan.
pub const DIRECT_READER_ENV: &str = "TALLY_DIRECT_READER";

/// Converts `inputs` with the format's direct reader, in chunks of about `chunk` bytes, when it
/// has one and every input suits it (`None` otherwise: nothing is written, and the Polars plan
/// converts them).
pub(crate) fn convert_direct(
    format: &dyn Format,
    inputs: &[Input<'_>],
    dest: &Path,
    chunk: usize,
) -> Result<Option<ConvertStats>, SourceError> {
    let first = inputs.first().map(|i| i.object).unwrap_or("(no input)");
    let mut readers = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match format.direct(input)? {
            None => return Ok(None),
            Some(crate::Direct(None)) => {}
            Some(crate::Direct(Some(reader))) => {
                // A rule the plan cannot apply (on a column that is not in the ledger: a library
                // caller's, as `tally validate` refuses it) fails there, and must fail the same
                // way here.
                if !input.category_rules.is_empty() && format.scan(input)?.collect_schema().is_err() {
                    return Ok(None);
                }
                readers.push((i, reader));
            }
        }
    }
    let quantities = inputs.iter().any(|i| i.quantities_only);
    let rules = inputs.iter().any(|i| !i.category_rules.is_empty());
    let post = |r: usize, df: DataFrame| -> PolarsResult<DataFrame> {
        let input = &inputs[readers[r].0];
        let mut lf = tally_ledger::frame::with_category_rules(df.lazy(), input.category_rules);
        lf = tally_ledger::frame::conform_focus(lf);
        if quantities {
            lf = quantities_only(lf);
        }
        Ok(lf.collect_with_engine(Engine::InMemory)?.unwrap_single())
    };
    let mappers: Vec<&dyn crate::chunked::ChunkMapper> = readers.iter().map(|(_, r)| r.as_ref() as _).collect();
    // Without rules or quantities the readers conform the rows themselves.
    let post: Option<&crate::chunked::Post<'_>> = if rules || quantities { Some(&post) } else { None };
    match crate::chunked::convert(&mappers, post, dest, chunk) {
        Ok(Some(counted)) => check_written(format, inputs, dest, Some(counted)).map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(SourceError::Polars { object: first.to_string(), action: "converting", source: e }),
    }
}

/// Checks a written ledger file (no mandatory value empty or unreadable) and totals it. With
/// `counted`, the totals its writer made of the rows it encoded, the file's row count must be
/// theirs and they are returned instead of reading the rows back.
fn check_written(
    format: &dyn Format,
    inputs: &[Input<'_>],
    dest: &Path,
    counted: Option<ConvertStats>,
) -> Result<ConvertStats, SourceError> {
    let first = inputs.first().map(|i| i.object).unwrap_or("(no input)");
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
    let Some(counted) = counted else { return stats(written, first) };
    let file = std::fs::File::open(dest).map_err(|e| SourceError::Unreadable {
        object: first.to_string(),
        reason: format!("reading back the written file: {e}"),
    })?;
    let rows = ParquetReader::new(file).num_rows().map_err(polars_err(first, "reading back the written file"))?;
    if rows as u64 != counted.rows {
        return Err(SourceError::Unreadable {
            object: first.to_string(),
            reason: format!("the written file holds {rows} rows where {} were converted", counted.rows),
        });
    }
    Ok(counted)
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
        let totals = MonthStats {
            rows: u64_at(df, "rows", i),
            billed_cost: money_at(df, "billed", i),
            effective_cost: money_at(df, "effective", i),
        };
        let month = str_at(df, schema::X_BILLING_MONTH, i).unwrap_or_default();
        out.add_month(&month, &str_at(df, "BillingCurrency", i).unwrap_or_default(), totals);
    }
    out
}
