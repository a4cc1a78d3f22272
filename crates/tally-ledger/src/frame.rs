//! Building, writing and reading ledger frames with Polars.

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use crate::condition::{is_in_list, Conditions};
use crate::schema::{self, ledger_columns};
use crate::TcoCategory;

/// Selects every ledger column in order: the expression given for it, cast to the ledger type,
/// or a typed null when the source has nothing for it.
pub fn select_ledger(lf: LazyFrame, mut exprs: HashMap<&'static str, Expr>) -> LazyFrame {
    let cols: Vec<Expr> = ledger_columns()
        .map(|c| {
            let dtype = c.kind.dtype();
            match exprs.remove(c.name) {
                Some(e) => e.strict_cast(dtype).alias(c.name),
                None => lit(NULL).cast(dtype).alias(c.name),
            }
        })
        .collect();
    lf.select(cols)
}

/// Fills what FOCUS 1.2 requires and a native export may lack, for every format but FOCUS
/// itself (whose rows are kept as delivered): a null `ServiceSubcategory` becomes
/// `Other (<ServiceCategory>)`; `PricingQuantity` is null on Tax rows; a quantity needs a unit
/// (`PricingUnit`, else the `ConsumedUnit`) and a unit needs a quantity.
pub fn conform_focus(lf: LazyFrame) -> LazyFrame {
    let null_text = || lit(NULL).cast(DataType::String);
    let other = concat_str([lit("Other ("), col("ServiceCategory"), lit(")")], "", true);
    lf.with_columns([
        coalesce(&[col("ServiceSubcategory"), other]).alias("ServiceSubcategory"),
        when(col("ChargeCategory").eq(lit("Tax")))
            .then(lit(NULL).cast(crate::MONEY_DTYPE))
            .otherwise(col("PricingQuantity"))
            .alias("PricingQuantity"),
        coalesce(&[col("PricingUnit"), col("ConsumedUnit")]).alias("__unit"),
    ])
    .with_columns([when(col("__unit").is_null())
        .then(lit(NULL).cast(crate::MONEY_DTYPE))
        .otherwise(col("PricingQuantity"))
        .alias("PricingQuantity")])
    .with_columns([when(col("PricingQuantity").is_null())
        .then(null_text())
        .otherwise(col("__unit"))
        .alias("PricingUnit")])
    .drop(by_name(["__unit"], true, false))
}

/// A user rule that sets the TCO category of the rows it matches.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CategoryRule {
    /// Which rows.
    pub when: Conditions,
    /// Their category.
    pub category: TcoCategory,
}

/// The default TCO category of a FOCUS row, from `ServiceCategory`, `ServiceSubcategory` and the
/// units: token-priced AI charges are model usage, other AI and compute is compute, security,
/// identity and governance are security & compliance (but observability and support are
/// infrastructure), everything else is infrastructure. `rules` are checked first, in order.
pub fn category_expr(rules: &[CategoryRule]) -> Expr {
    let cat = col("ServiceCategory");
    let sub = col("ServiceSubcategory").fill_null(lit(""));
    let token_unit = |c: &str| col(c).str().contains(lit("(?i)token"), false).fill_null(lit(false));
    let tokens = token_unit("PricingUnit").or(token_unit("ConsumedUnit"));
    let ai = cat.clone().eq(lit("AI and Machine Learning"));
    let governance = is_in_list(cat.clone(), &["Security", "Identity"]);
    let mgmt = cat.clone().eq(lit("Management and Governance"));
    let mgmt_infra =
        is_in_list(sub, &["Observability", "Support", "Cost Management", "Architecture", "Disaster Recovery"]);
    let mut chain = when(ai.clone().and(sub_is_genai().or(tokens)))
        .then(lit(TcoCategory::ModelApi.as_str()))
        .when(ai.or(cat.clone().eq(lit("Compute"))))
        .then(lit(TcoCategory::Compute.as_str()))
        .when(governance.or(mgmt.and(mgmt_infra.not())))
        .then(lit(TcoCategory::SecurityCompliance.as_str()))
        .otherwise(lit(TcoCategory::Infrastructure.as_str()));
    for rule in rules.iter().rev() {
        chain = when(rule.when.to_expr()).then(lit(rule.category.as_str())).otherwise(chain);
    }
    chain
}

fn sub_is_genai() -> Expr {
    col("ServiceSubcategory").eq(lit("Generative AI")).fill_null(lit(false))
}

/// `BillingPeriodStart` as `YYYY-MM`.
pub fn billing_month_expr() -> Expr {
    col("BillingPeriodStart").dt().strftime("%Y-%m")
}

/// Parquet settings for every dataset tally writes.
pub fn parquet_options() -> ParquetWriteOptions {
    ParquetWriteOptions {
        compression: ParquetCompression::Zstd(None),
        statistics: StatisticsOptions::default(),
        // Row groups of 64Ki rows: a streaming write buffers about one row group per thread, so
        // this bounds memory (Polars' default is about 120k rows).
        row_group_size: Some(65_536),
        ..Default::default()
    }
}

/// Writes a lazy frame to a local Parquet file with the streaming engine.
pub fn sink_parquet(lf: LazyFrame, path: &Path) -> PolarsResult<()> {
    let target = SinkTarget::Path(PlRefPath::new(path.to_string_lossy().as_ref()));
    lf.sink(
        SinkDestination::File { target },
        FileWriteFormat::Parquet(std::sync::Arc::new(parquet_options())),
        UnifiedSinkArgs { mkdir: true, ..Default::default() },
    )?
    .collect_with_engine(Engine::Streaming)?;
    Ok(())
}

/// Collects `lf` with the streaming engine (memory bounded by what the query keeps, not by its
/// input).
pub fn collect_streaming(lf: LazyFrame) -> PolarsResult<DataFrame> {
    // One query, one result frame (several only come from `collect_all`).
    Ok(lf.collect_with_engine(Engine::Streaming)?.unwrap_single())
}

/// The null count of each of `columns` in a Parquet file, from its row groups' statistics (no
/// data is read): `None` for a column the footer has no null count for.
pub fn parquet_null_counts(path: &Path, columns: &[&str]) -> PolarsResult<Vec<Option<u64>>> {
    let file = std::fs::File::open(path)?;
    let metadata = ParquetReader::new(file).get_metadata()?.clone();
    let mut out: Vec<Option<u64>> = vec![Some(0); columns.len()];
    let mut seen = vec![false; columns.len()];
    for group in &metadata.row_groups {
        for chunk in group.parquet_columns() {
            let path = &chunk.descriptor().path_in_schema;
            let Some(i) = path.first().and_then(|n| columns.iter().position(|c| *c == n.as_str())) else {
                continue;
            };
            seen[i] = true;
            let nulls = chunk.statistics(&metadata.footer_buf).and_then(Result::ok).and_then(|s| s.null_count());
            out[i] = match (out[i], nulls.and_then(|n| u64::try_from(n).ok())) {
                (Some(total), Some(n)) => Some(total + n),
                _ => None,
            };
        }
    }
    // A file with no row groups has no nulls; a column absent from a file that has some is unknown.
    for (i, seen) in seen.into_iter().enumerate() {
        if !seen && !metadata.row_groups.is_empty() {
            out[i] = None;
        }
    }
    Ok(out)
}

/// Scans ledger Parquet files (all with the ledger schema) as one frame.
pub fn scan_ledger(paths: &[std::path::PathBuf]) -> PolarsResult<LazyFrame> {
    let frames = paths
        .iter()
        .map(|p| {
            LazyFrame::scan_parquet(
                PlRefPath::new(p.to_string_lossy().as_ref()),
                ScanArgsParquet { hive_options: HiveOptions::new_disabled(), ..Default::default() },
            )
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    if frames.is_empty() {
        let empty = DataFrame::empty_with_schema(&schema::ledger_schema());
        return Ok(empty.lazy());
    }
    concat(frames, UnionArgs { parallel: false, rechunk: false, to_supertypes: false, ..Default::default() })
}

/// The money value of column `name` at row `i` (zero when null or absent).
pub fn money_at(df: &DataFrame, name: &str, i: usize) -> crate::Money {
    match df.column(name).ok().and_then(|c| c.get(i).ok()) {
        Some(AnyValue::Decimal(v, _, s)) if s <= crate::MONEY_SCALE => {
            crate::Money::from_raw(v * 10i128.pow((crate::MONEY_SCALE - s) as u32))
        }
        _ => crate::Money::ZERO,
    }
}

/// The text value of column `name` at row `i`.
pub fn str_at(df: &DataFrame, name: &str, i: usize) -> Option<String> {
    df.column(name).ok().and_then(|c| c.str().ok().and_then(|s| s.get(i).map(str::to_string)))
}

/// The count value of column `name` at row `i` (zero when null or absent).
pub fn u64_at(df: &DataFrame, name: &str, i: usize) -> u64 {
    df.column(name)
        .ok()
        .and_then(|c| c.cast(&DataType::UInt64).ok())
        .and_then(|c| c.u64().ok().and_then(|c| c.get(i)))
        .unwrap_or(0)
}

/// Builds ledger rows from Rust values, column by column (for small inputs parsed in Rust:
/// JSON pages, people and invoice tables). Columns not given are typed nulls.
#[derive(Default)]
pub struct RowsBuilder {
    height: usize,
    columns: Vec<Column>,
    exprs: HashMap<&'static str, Expr>,
}

impl RowsBuilder {
    /// A builder for `height` rows.
    pub fn new(height: usize) -> Self {
        RowsBuilder { height, ..Default::default() }
    }

    fn push(mut self, name: &'static str, column: Column) -> Self {
        self.columns.push(column);
        self.exprs.insert(name, col(name));
        self
    }

    /// A text column.
    pub fn text(self, name: &'static str, values: Vec<Option<String>>) -> Self {
        self.push(name, Series::new(name.into(), values).into_column())
    }

    /// A text column with one value on every row (a real column, so other expressions of the
    /// builder can read it).
    pub fn constant(self, name: &'static str, value: &str) -> Self {
        let n = self.height;
        self.push(name, Series::new(name.into(), vec![value; n]).into_column())
    }

    /// A money (or quantity) column.
    pub fn money(self, name: &'static str, values: Vec<Option<crate::Money>>) -> Self {
        let ca = Int128Chunked::from_iter_options(name.into(), values.into_iter().map(|v| v.map(crate::Money::raw)));
        self.push(name, ca.into_decimal_unchecked(38, crate::MONEY_SCALE).into_series().into_column())
    }

    /// A UTC date/time column, in microseconds since the Unix epoch.
    pub fn time(self, name: &'static str, micros: Vec<Option<i64>>) -> Self {
        let ca = Int64Chunked::from_iter_options(name.into(), micros.into_iter());
        self.push(name, ca.into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)).into_series().into_column())
    }

    /// A whole-number column.
    pub fn int(self, name: &'static str, values: Vec<Option<i64>>) -> Self {
        self.push(name, Series::new(name.into(), values).into_column())
    }

    /// Any expression over the built columns (e.g. the billing month or category).
    pub fn expr(mut self, name: &'static str, e: Expr) -> Self {
        self.exprs.insert(name, e);
        self
    }

    /// The rows as a ledger frame.
    pub fn build(self) -> PolarsResult<LazyFrame> {
        let df = DataFrame::new(self.height, self.columns)?;
        Ok(select_ledger(df.lazy(), self.exprs))
    }
}

/// Microseconds since the Unix epoch of the first instant of `month` (UTC).
pub fn month_start_micros(month: crate::layout::BillingMonth) -> i64 {
    chrono::NaiveDate::from_ymd_opt(month.year, month.month, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
        .unwrap_or_default()
}
